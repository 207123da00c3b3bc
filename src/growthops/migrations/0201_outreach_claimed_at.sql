-- 0201 leads.outreach_emails.claimed_at: when an e-mail was claimed for sending (status
-- 'sending', committed before the SMTP call; growthops.leads.outreach.sending). A crash between
-- the claim and the 'sent' mark leaves the e-mail 'sending': never sent twice, but until now it
-- counted toward its mailbox's daily cap every day, and nothing told a person about it. The cap
-- now counts a 'sending' e-mail on the day it was claimed only, a send's counts say how many
-- have been 'sending' for more than an hour ("stuck"), and `growthops leads outreach stuck`
-- lets a person who checked the mailbox's Sent folder mark them sent or put them back.
alter table leads.outreach_emails add column claimed_at timestamptz;
