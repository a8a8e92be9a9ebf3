-- Stale-served share per domain (stale = served while refreshing, stale_if_error = served because KV/origin failed)
SELECT domain,
       count(*) AS scans,
       count(*) FILTER (WHERE cache = 'hit') AS hit,
       count(*) FILTER (WHERE cache = 'miss') AS miss,
       count(*) FILTER (WHERE cache = 'stale') AS stale,
       count(*) FILTER (WHERE cache = 'stale_if_error') AS stale_if_error,
       round(100.0 * count(*) FILTER (WHERE cache IN ('stale', 'stale_if_error')) / count(*), 1) AS stale_pct
FROM scans
GROUP BY ALL
ORDER BY scans DESC, domain;
