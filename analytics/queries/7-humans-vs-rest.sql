-- Humans vs the rest per link per day (UTC), by class (unclassified = v 1 lines, written before class)
SELECT ts::DATE AS day, domain, slug,
       count(*) AS scans,
       count(*) FILTER (WHERE class = 'human') AS humans,
       count(*) FILTER (WHERE class = 'preview') AS previews,
       count(*) FILTER (WHERE class = 'bot') AS bots,
       count(*) FILTER (WHERE class = 'monitor') AS monitors,
       count(*) FILTER (WHERE class = 'scanner') AS scanners,
       count(*) FILTER (WHERE class = 'prefetch') AS prefetches,
       count(*) FILTER (WHERE class IS NULL) AS unclassified,
       round(100.0 * count(*) FILTER (WHERE class = 'human') / count(*), 1) AS human_pct
FROM scans
GROUP BY ALL
ORDER BY day, domain, slug;
