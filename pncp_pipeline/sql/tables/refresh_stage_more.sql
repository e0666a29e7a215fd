-- refresh 7/9: stage the pages refresh_reparse named (the select slot: tables/<name>.sql with $months empty, $raw_ids set).
INSERT INTO _pncp_staged SELECT * FROM ({{select}});
