-- Unique visitors per link per day (UTC), counted by visitor (it changes daily: never count it across days)
-- scans_without_visitor: no ip_salt, no client address, or a v 1 line; those scans are in no visitor count.
SELECT ts::DATE AS day, domain, slug,
       count(*) AS scans,
       count(DISTINCT visitor) AS visitors,
       count(DISTINCT visitor) FILTER (WHERE class = 'human') AS human_visitors,
       count(*) FILTER (WHERE visitor IS NULL) AS scans_without_visitor
FROM scans
GROUP BY ALL
ORDER BY day, domain, slug;
