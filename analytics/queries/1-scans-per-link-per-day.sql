-- Scans per link per day (UTC): all scans, people (bots excluded), redirects
SELECT ts::DATE AS day, domain, slug,
       count(*) AS scans,
       count(*) FILTER (WHERE NOT bot) AS people,
       count(*) FILTER (WHERE outcome = 'redirect') AS redirects
FROM scans
GROUP BY ALL
ORDER BY day, domain, slug;
