-- Scans by device and OS (people only)
SELECT device, os,
       count(*) AS scans,
       round(100.0 * count(*) / sum(count(*)) OVER (), 1) AS pct
FROM scans
WHERE NOT bot
GROUP BY ALL
ORDER BY scans DESC, device, os;
