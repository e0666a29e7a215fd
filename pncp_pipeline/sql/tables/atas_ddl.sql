-- pncp_data.atas: one row per price-registration record (numeroControlePNCPAta), from atas_atualizacao
-- and, when its pages were extracted, atas_vigencia (SPEC §5.3). Flat in the API (no nested organ).
CREATE TABLE IF NOT EXISTS pncp_data.atas (
    record_key                      VARCHAR NOT NULL,
    numero_controle_pncp_ata        VARCHAR,
    numero_controle_pncp_compra     VARCHAR,
    numero_ata_registro_preco       VARCHAR,
    ano_ata                         INTEGER,
    cancelado                       BOOLEAN,
    possibilidade_adesao            BOOLEAN,
    data_cancelamento               DATE,
    data_assinatura                 DATE,
    vigencia_inicio                 DATE,
    vigencia_fim                    DATE,
    data_publicacao_pncp            DATE,
    data_inclusao                   DATE,
    data_atualizacao                DATE,
    data_atualizacao_global         DATE,
    objeto_contratacao              VARCHAR,
    usuario                         VARCHAR,
    orgao_cnpj                      VARCHAR,
    orgao_nome                      VARCHAR,
    orgao_subrogado_cnpj            VARCHAR,
    orgao_subrogado_nome            VARCHAR,
    unidade_codigo                  VARCHAR,
    unidade_nome                    VARCHAR,
    unidade_subrogada_codigo        VARCHAR,
    unidade_subrogada_nome          VARCHAR,
    record                          JSON,
    {{lineage_ddl}}
);

COMMENT ON TABLE pncp_data.atas IS 'Price-registration records (atas de registro de preços), one row per numeroControlePNCPAta: the most recent version (dataAtualizacaoGlobal, then the latest landed page). The API sends every ata date as a date without time (Brasília calendar day).';
COMMENT ON COLUMN pncp_data.atas.record_key IS 'The record''s identity: numeroControlePNCPAta (procurement control number + -ata sequence). Text, never a number.';
COMMENT ON COLUMN pncp_data.atas.numero_controle_pncp_compra IS 'Control number of the procurement the ata comes from (its year is the procurement''s, not ano_ata).';
COMMENT ON COLUMN pncp_data.atas.vigencia_fim IS 'End of validity; rectified in place when extended. Real data holds impossible dates (e.g. 7203-07-27), kept as sent.';
COMMENT ON COLUMN pncp_data.atas.data_atualizacao_global IS 'Last update (date only, Brasília calendar day); orders versions.';
COMMENT ON COLUMN pncp_data.atas.usuario IS 'Publishing system (the API calls it usuario here, usuarioNome elsewhere).';
COMMENT ON COLUMN pncp_data.atas.orgao_cnpj IS 'cnpjOrgao: the owning organ''s CNPJ (text).';
COMMENT ON COLUMN pncp_data.atas.record IS 'The full record exactly as the API sent it (every field, including ones added after this table was designed).';
{{lineage_comments}}
