-- 0170 inbox: the tenant's answer classifier (issue 11, triage). A linear text classifier
-- trained on the tenant's own utterances: the questions of its FAQ entries grouped by answer
-- (entries sharing an answer are paraphrases of one question) and the labelled `answer`
-- examples. It ranks the knowledge base's answers for a message better than nearest-neighbour
-- retrieval when a tenant has several paraphrases per answer, and its probability is an
-- evidence feature of the calibrated confidence (growthops.inbox.ai.answer_model).
-- model: the .npz written by growthops.core.ai.text.TextClassifier.save (no pickle), sha256 its
-- checksum; answers: class label -> faq_id answered; fingerprint: md5 of the FAQ rows and
-- examples it was trained on (a different fingerprint means retrain).
create table inbox.answer_models (
  tenant_id uuid not null references core.tenants on delete cascade,
  model bytea not null,
  sha256 text not null check (length(sha256) between 1 and 64),  -- hex, verified at load
  answers jsonb not null,
  n_examples int not null check (n_examples > 0),
  n_answers int not null check (n_answers > 0),
  fingerprint text not null,
  train_seconds double precision not null default 0,
  trained_at timestamptz not null default now(),
  primary key (tenant_id)
);
call core.enable_tenant_rls('inbox.answer_models');
