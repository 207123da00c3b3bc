-- 0003: indexes the daily cycle and the importer's roll-ups use on large tenants.
-- Day-of-week factors read campaign-level daily totals; roll-ups read an ad set's ads and a
-- campaign's ad sets for a day.
create index if not exists metrics_daily_campaign_day on ads.metrics_daily (tenant_id, day) where level = 'campaign';
create index if not exists metrics_daily_ads_of_adset on ads.metrics_daily (tenant_id, platform, adset_id, day) where level = 'ad';
create index if not exists metrics_daily_adsets_of_campaign on ads.metrics_daily (tenant_id, platform, campaign_id, day) where level = 'adset';
