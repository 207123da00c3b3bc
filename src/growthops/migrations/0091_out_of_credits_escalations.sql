-- 0091 inbox, issue 12: an AI reply to a message costs a credit (growthops.inbox.credits); out
-- of credits the reply is not sent and the conversation goes to a person with the escalation
-- reason out_of_credits.
alter table inbox.support_escalations drop constraint support_escalations_reason_check;
alter table inbox.support_escalations add constraint support_escalations_reason_check
  check (reason in ('customer_request', 'low_confidence', 'manual_escalation', 'outside_window',
                    'out_of_credits'));
