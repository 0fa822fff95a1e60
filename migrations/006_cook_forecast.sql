-- The forecast of each cook (core/forecast.hpp, docs/forecast.md), kept up
-- to date on write like the cook's other aggregates, so that a scrape or a
-- page only reads it. It is the forecast after the cook's newest reading.
ALTER TABLE cooks ADD COLUMN forecast_state TEXT;  -- collecting, estimating, stalled, unreachable, done
ALTER TABLE cooks ADD COLUMN predicted_done_ms INTEGER;   -- absent when there is no estimate
ALTER TABLE cooks ADD COLUMN forecast_confidence REAL;    -- 0..1, with predicted_done_ms
ALTER TABLE cooks ADD COLUMN forecast_stalled INTEGER;    -- 0 or 1
