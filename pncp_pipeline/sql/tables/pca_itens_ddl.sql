-- pncp_data.pca_itens: one row per annual-plan item (idPcaPncp, numeroItem), from pca_atualizacao, with
-- its plan's fields beside the item's (SPEC §5.4). The API pages and counts items, not plans.
CREATE TABLE IF NOT EXISTS pncp_data.pca_itens (
    record_key                      VARCHAR NOT NULL,
    id_pca_pncp                     VARCHAR,
    numero_item                     INTEGER,
    ano_pca                         INTEGER,
    orgao_cnpj                      VARCHAR,
    orgao_razao_social              VARCHAR,
    unidade_codigo                  VARCHAR,
    unidade_nome                    VARCHAR,
    plano_data_publicacao_pncp      TIMESTAMP,
    plano_data_atualizacao_global   TIMESTAMP,
    categoria_item_pca_nome         VARCHAR,
    classificacao_catalogo_id       INTEGER,
    nome_classificacao_catalogo     VARCHAR,
    classificacao_superior_codigo   VARCHAR,
    classificacao_superior_nome     VARCHAR,
    pdm_codigo                      VARCHAR,
    pdm_descricao                   VARCHAR,
    codigo_item                     VARCHAR,
    descricao_item                  VARCHAR,
    unidade_fornecimento            VARCHAR,
    quantidade_estimada             DECIMAL(38, 4),
    valor_unitario                  DECIMAL(38, 4),
    valor_total                     DECIMAL(38, 4),
    valor_orcamento_exercicio       DECIMAL(38, 4),
    unidade_requisitante            VARCHAR,
    grupo_contratacao_codigo        VARCHAR,
    grupo_contratacao_nome          VARCHAR,
    data_desejada                   DATE,
    data_inclusao                   TIMESTAMP,
    data_atualizacao                TIMESTAMP,
    record                          JSON,
    plano                           JSON,
    {{lineage_ddl}}
);

COMMENT ON TABLE pncp_data.pca_itens IS 'Annual procurement plan (PCA) items, one row per (idPcaPncp, numeroItem) with the plan''s fields: the most recent version (the later of the plan''s dataAtualizacaoGlobalPCA and the item''s dataAtualizacao, then the latest landed page). Timestamps are Brasília local time (America/Sao_Paulo) as the API sends them, without a zone.';
COMMENT ON COLUMN pncp_data.pca_itens.record_key IS 'The item''s identity: idPcaPncp || ''|'' || numeroItem. Text, never a number.';
COMMENT ON COLUMN pncp_data.pca_itens.id_pca_pncp IS 'Plan control number CNPJ-0-sequence/year (text).';
COMMENT ON COLUMN pncp_data.pca_itens.orgao_cnpj IS 'orgaoEntidadeCnpj of the plan (text).';
COMMENT ON COLUMN pncp_data.pca_itens.plano_data_publicacao_pncp IS 'Plan publication (dataPublicacaoPNCP); Brasília local time (America/Sao_Paulo), the API sends no zone.';
COMMENT ON COLUMN pncp_data.pca_itens.plano_data_atualizacao_global IS 'Plan dataAtualizacaoGlobalPCA; Brasília local time (America/Sao_Paulo), the API sends no zone.';
COMMENT ON COLUMN pncp_data.pca_itens.classificacao_catalogo_id IS '1 material, 2 serviço; nome_classificacao_catalogo is its name.';
COMMENT ON COLUMN pncp_data.pca_itens.valor_total IS 'Estimated item total in BRL.';
COMMENT ON COLUMN pncp_data.pca_itens.data_inclusao IS 'Brasília local time (America/Sao_Paulo), the API sends no zone.';
COMMENT ON COLUMN pncp_data.pca_itens.data_atualizacao IS 'Brasília local time (America/Sao_Paulo), the API sends no zone.';
COMMENT ON COLUMN pncp_data.pca_itens.record IS 'The full item exactly as the API sent it (every field, including ones added after this table was designed).';
COMMENT ON COLUMN pncp_data.pca_itens.plano IS 'The full plan as the API sent it, without its itens list.';
{{lineage_comments}}
