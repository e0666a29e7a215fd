-- refresh 1/9: typed versions of every record in the refreshed months' raw pages (the select slot holds
-- tables/<name>.sql); a temp table, so each page is parsed once per refresh.
CREATE OR REPLACE TEMP TABLE _pncp_staged AS SELECT * FROM ({{select}});
