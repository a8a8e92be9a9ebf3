-- Scans by country (people only; null country = no geolocation)
SELECT coalesce(country, '??') AS country,
       count(*) AS scans,
       round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS pct
FROM scans
WHERE NOT bot
GROUP BY ALL
ORDER BY scans DESC, country;
