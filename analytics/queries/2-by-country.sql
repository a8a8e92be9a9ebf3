-- Scans by country (people only; null country = no geolocation)
-- People: class = 'human'; a v 1 line has no class, so its bot flag decides.
SELECT coalesce(country, '??') AS country,
       count(*) AS scans,
       round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS pct
FROM scans
WHERE coalesce(class = 'human', NOT bot)
GROUP BY ALL
ORDER BY scans DESC, country;
