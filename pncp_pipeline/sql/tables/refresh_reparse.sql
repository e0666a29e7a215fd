-- refresh 6/9: pages outside the refreshed months that hold a winner the table lacks (its previous
-- winner came from a refreshed month and is gone or older now); they are staged too (7/9).
SELECT DISTINCT raw_id FROM _pncp_winners WHERE NOT refreshed AND NOT current ORDER BY raw_id;
