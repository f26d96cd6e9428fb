-- The allocation transaction's database work, raw (ISSUE 6 §3; ARCHITECTURE.md §3): pick the least-loaded
-- RM serving a random locality, take a slot with the conditional capacity update (LAR-002), insert the
-- allocation and its outbox event. bench_localities / bench_rm_ids are filled by `sales bench run`.
\set k random(1, :nloc)
\set r random(1, :nrm)
BEGIN;
SELECT coalesce(
         (SELECT r.id FROM rm_localities x JOIN rms r ON r.id = x.rm_id
          WHERE x.city = (SELECT city FROM bench_localities WHERE n = :k)
            AND x.locality = (SELECT locality FROM bench_localities WHERE n = :k)
            AND r.status = 'ACTIVE' AND r.availability = 'ONLINE' AND r.active_leads < r.capacity
          ORDER BY r.window_received, r.last_allocated_at NULLS FIRST, r.id LIMIT 1),
         (SELECT id FROM bench_rm_ids WHERE n = :r)) AS rm \gset
UPDATE rms SET active_leads = active_leads + 1, window_received = window_received + 1, last_allocated_at = now()
 WHERE id = :rm AND active_leads < capacity;
INSERT INTO rm_allocations (id, lead_id, rm_id, allocation_type, allocation_reason, priority, status, allocated_at,
                            sla_deadline, is_reassignment, over_capacity, decision, created_at, updated_at)
VALUES (gen_random_uuid(), gen_random_uuid(), :rm, 'AUTO', 'pgbench', 3, 'PENDING', now(), now() + interval '2 hours',
        false, false, '{"outcome":"ALLOCATED","rules":["LAR-001","LAR-002","LAR-003","LAR-004"]}', now(), now());
INSERT INTO outbox_events (id, type, subject, envelope, created_at)
VALUES (gen_random_uuid(), 'sales.lead.allocated', :rm,
        '{"specversion":"1.0","source":"/mysqrft/sales","type":"sales.lead.allocated","data":{}}', now());
END;
