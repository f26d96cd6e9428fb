-- One RM's pipeline list, raw: the statement the service runs for GET /pipelines?limit=250 as that RM.
\set r random(1, :nrm)
SELECT p.id, p.lead_id, p.rm_id, p.stage, p.source, p.deal_value, p.probability, p.expected_close_date,
       p.actual_close_date, p.outcome, p.loss_reason, p.notes, p.sla_deadline, p.stage_changed_at, p.created_at,
       p.updated_at, r.name AS rm_name, r.team_id AS rm_team_id, t.name AS team_name, l.id AS lead_known,
       l.customer_id, l.customer_name, l.customer_phone, l.customer_email
FROM sales_pipelines p JOIN rms r ON r.id = p.rm_id LEFT JOIN teams t ON t.id = r.team_id
     LEFT JOIN leads l ON l.id = p.lead_id
WHERE p.rm_id = (SELECT id FROM bench_rm_ids WHERE n = :r)
ORDER BY p.created_at DESC, p.id DESC
LIMIT 251;
