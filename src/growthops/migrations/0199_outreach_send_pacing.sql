-- 0199 leads.outreach_settings.send_pacing: spread each sender mailbox's daily cap evenly over
-- the tenant's business hours instead of sending what is due in one burst at the start of the
-- day (growthops.leads.outreach.sending.paced_room, docs/outreach.md "Sending"). On by default,
-- for existing tenants too: a burst of cold e-mails from one mailbox is what mailbox providers'
-- filters read as bulk mail (Google, "Email sender guidelines": send at a consistent rate).
alter table leads.outreach_settings
  add column send_pacing boolean not null default true;
