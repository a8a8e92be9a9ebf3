-- Scans per link per day (UTC): all scans, people (class human), redirects
-- People: class = 'human'; a v 1 line has no class, so its bot flag decides.
SELECT ts::DATE AS day, domain, slug,
       count(*) AS scans,
       count(*) FILTER (WHERE coalesce(class = 'human', NOT bot)) AS people,
       count(*) FILTER (WHERE outcome = 'redirect') AS redirects
FROM scans
GROUP BY ALL
ORDER BY day, domain, slug;
