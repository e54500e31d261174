-- Firm-wide positions: every trader id's unified position netted per canonical instrument (several nodes, one per
-- trader id, share one database). The entry price averages the traders on the firm's net side, like the per-trader
-- row averages its venue accounts; trader_positions keeps each trader id's net quantity.
CREATE VIEW unified_positions_all AS
WITH p AS (
    SELECT trader_id, canonical_id, net_quantity, avg_entry_price, realized_pnl, unrealized_pnl, pnl_currency,
           updated_at, sum(net_quantity) OVER (PARTITION BY canonical_id) AS firm_net
    FROM unified_positions
)
SELECT canonical_id,
       sum(net_quantity)                                                       AS net_quantity,
       sum(abs(net_quantity) * avg_entry_price) FILTER (WHERE net_quantity * firm_net > 0)
           / NULLIF(sum(abs(net_quantity)) FILTER (WHERE net_quantity * firm_net > 0
                                                    AND avg_entry_price IS NOT NULL), 0) AS avg_entry_price,
       sum(realized_pnl)                                                       AS realized_pnl,
       sum(unrealized_pnl)                                                     AS unrealized_pnl,
       CASE WHEN count(DISTINCT pnl_currency) <= 1 THEN min(pnl_currency) END  AS pnl_currency,
       jsonb_object_agg(trader_id, net_quantity)                               AS trader_positions,
       count(*) FILTER (WHERE net_quantity <> 0)                               AS open_traders,
       max(updated_at)                                                         AS updated_at
FROM p
GROUP BY canonical_id;
