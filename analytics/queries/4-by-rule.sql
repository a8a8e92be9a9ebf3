-- Scans by link and deciding rule (rule:N = targeting rule N, split:N = split entry N)
SELECT domain, slug, rule, outcome,
       count(*) AS scans,
       round(100.0 * count(*) / sum(count(*)) OVER (PARTITION BY domain, slug), 1) AS pct_of_link
FROM scans
GROUP BY domain, slug, rule, outcome
ORDER BY domain, slug, scans DESC, rule;
