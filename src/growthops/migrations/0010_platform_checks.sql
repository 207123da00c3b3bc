-- 0010: the platform of a config or an ad account is one ads.metrics_daily accepts
-- (defence in depth: the daily cycle writes platform names into generated SQL).
alter table ads.platform_configs add constraint platform_configs_platform_check
  check (platform in ('meta', 'google', 'display', 'tiktok', 'linkedin', 'other'));
alter table ads.ad_accounts add constraint ad_accounts_platform_check
  check (platform in ('meta', 'google', 'display', 'tiktok', 'linkedin', 'other'));
