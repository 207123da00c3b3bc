-- 0145 Slack: recover a post whose run died between Slack's answer and the record (issue 15
-- follow-up). Every chat.postMessage now carries message metadata naming its post_key
-- (event_type 'growthops_post'); a run that takes over a stale 'pending' claim first reads the
-- channel (or the thread) back from the dead claim's time and records the message it finds
-- instead of posting it again (growthops.ads.reporting.slack_threads.find_posted).
-- stale_claimed_at: the claimed_at of the dead claim this claim took over (NULL otherwise).
alter table ads.slack_posts add column stale_claimed_at timestamptz;
