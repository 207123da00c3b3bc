-- 0052 inbox AI learning from people (issue 11): labelled examples recorded from people's
-- actions (growthops.inbox.ai.labels): source 'action' and the decision they label. A person
-- answering a message the AI escalated, or replying where the AI chose to ignore, answers the
-- question "what should the AI have done" without anyone filling a form.
alter table inbox.ai_examples drop constraint ai_examples_source_check;
alter table inbox.ai_examples add constraint ai_examples_source_check
  check (source in ('csv', 'api', 'demo', 'action'));
alter table inbox.ai_examples add column ai_decision_id bigint;
create index ai_examples_decision on inbox.ai_examples (tenant_id, ai_decision_id)
  where ai_decision_id is not null;
