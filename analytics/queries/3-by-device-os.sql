-- Scans by device and OS (people only)
-- People: class = 'human'; a v 1 line has no class, so its bot flag decides.
SELECT device, os,
       count(*) AS scans,
       round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS pct
FROM scans
WHERE coalesce(class = 'human', NOT bot)
GROUP BY ALL
ORDER BY scans DESC, device, os;
