-- 0101 anomaly triage (issue 15): who changed an anomaly's status, when and why. Anomalies are
-- never deleted by a person: they are investigated, resolved or dismissed, and the note stays.
alter table ads.anomalies
  add column status_note text check (length(status_note) <= 4000),
  add column status_by text check (length(status_by) <= 200),
  add column status_changed_at timestamptz;
