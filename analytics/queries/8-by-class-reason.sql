-- Scans by class and its evidence (class_reason) per domain, with share of the domain's classified scans
SELECT domain, class,
       coalesce(class_reason, '-') AS reason,
       count(*) AS scans,
       round(100.0 * count(*) / sum(count(*)) OVER (PARTITION BY domain), 1) AS pct_of_domain
FROM scans
WHERE class IS NOT NULL
GROUP BY domain, class, class_reason
ORDER BY domain, scans DESC, class, reason;
