-- Bot share per domain (crawlers, link-preview agents and HEAD requests)
SELECT domain,
       count(*) AS scans,
       count(*) FILTER (WHERE bot) AS bots,
       round(100.0 * count(*) FILTER (WHERE bot) / count(*), 1) AS bot_pct
FROM scans
GROUP BY ALL
ORDER BY scans DESC, domain;
