-- pncp_data.contratacoes: one row per procurement (numeroControlePNCP), from contratacoes_publicacao and
-- contratacoes_atualizacao (SPEC §5.1). Additive only: new typed columns come as ADD COLUMN IF NOT EXISTS.
CREATE TABLE IF NOT EXISTS pncp_data.contratacoes (
    record_key                           VARCHAR NOT NULL,
    numero_controle_pncp                 VARCHAR,
    ano_compra                           INTEGER,
    sequencial_compra                    INTEGER,
    numero_compra                        VARCHAR,
    processo                             VARCHAR,
    modalidade_id                        INTEGER,
    modalidade_nome                      VARCHAR,
    modo_disputa_id                      INTEGER,
    modo_disputa_nome                    VARCHAR,
    tipo_instrumento_convocatorio_codigo INTEGER,
    tipo_instrumento_convocatorio_nome   VARCHAR,
    situacao_compra_id                   INTEGER,
    situacao_compra_nome                 VARCHAR,
    amparo_legal_codigo                  INTEGER,
    amparo_legal_nome                    VARCHAR,
    amparo_legal_descricao               VARCHAR,
    srp                                  BOOLEAN,
    emenda_parlamentar                   BOOLEAN,
    objeto_compra                        VARCHAR,
    informacao_complementar              VARCHAR,
    justificativa_presencial             VARCHAR,
    valor_total_estimado                 DECIMAL(38, 4),
    valor_total_homologado               DECIMAL(38, 4),
    data_publicacao_pncp                 TIMESTAMP,
    data_inclusao                        TIMESTAMP,
    data_atualizacao                     TIMESTAMP,
    data_atualizacao_global              TIMESTAMP,
    data_abertura_proposta               TIMESTAMP,
    data_encerramento_proposta           TIMESTAMP,
    {{orgao_unidade_ddl}},
    link_sistema_origem                  VARCHAR,
    link_processo_eletronico             VARCHAR,
    usuario_nome                         VARCHAR,
    record                               JSON,
    {{lineage_ddl}}
);

COMMENT ON TABLE pncp_data.contratacoes IS 'Procurements (contratações), one row per numeroControlePNCP: the most recent version (dataAtualizacaoGlobal, then the latest landed page) seen by contratacoes_publicacao/_atualizacao. Timestamps are Brasília local time (America/Sao_Paulo) as the API sends them, without a zone.';
COMMENT ON COLUMN pncp_data.contratacoes.record_key IS 'The record''s identity: numeroControlePNCP (CNPJ-1-sequence/year). Text, never a number: CNPJs become alphanumeric from July 2026.';
COMMENT ON COLUMN pncp_data.contratacoes.numero_controle_pncp IS 'PNCP control number CNPJ-1-sequence/year (text).';
COMMENT ON COLUMN pncp_data.contratacoes.modalidade_id IS 'Modality code (SPEC §4.1); modalidade_nome is the name the API sent with it.';
COMMENT ON COLUMN pncp_data.contratacoes.situacao_compra_id IS '1 Divulgada no PNCP, 2 Revogada, 3 Anulada, 4 Suspensa (the spec types it as a string, real data sends an integer).';
COMMENT ON COLUMN pncp_data.contratacoes.valor_total_estimado IS 'Estimated total in BRL; 0 when the budget is confidential and there is no result yet.';
COMMENT ON COLUMN pncp_data.contratacoes.valor_total_homologado IS 'Awarded total in BRL (NULL until awarded).';
COMMENT ON COLUMN pncp_data.contratacoes.data_publicacao_pncp IS 'Publication in PNCP; Brasília local time (America/Sao_Paulo), the API sends no zone.';
COMMENT ON COLUMN pncp_data.contratacoes.data_inclusao IS 'Brasília local time (America/Sao_Paulo), the API sends no zone.';
COMMENT ON COLUMN pncp_data.contratacoes.data_atualizacao IS 'Last update of the record itself; Brasília local time (America/Sao_Paulo), the API sends no zone.';
COMMENT ON COLUMN pncp_data.contratacoes.data_atualizacao_global IS 'Last update of the record or its children; orders versions. Brasília local time (America/Sao_Paulo), the API sends no zone.';
COMMENT ON COLUMN pncp_data.contratacoes.data_abertura_proposta IS 'Brasília local time (America/Sao_Paulo), the API sends no zone.';
COMMENT ON COLUMN pncp_data.contratacoes.data_encerramento_proposta IS 'Brasília local time (America/Sao_Paulo), the API sends no zone.';
COMMENT ON COLUMN pncp_data.contratacoes.orgao_cnpj IS 'orgaoEntidade.cnpj: the owning organ''s CNPJ (text).';
COMMENT ON COLUMN pncp_data.contratacoes.unidade_uf_sigla IS 'unidadeOrgao.ufSigla: state of the administrative unit.';
COMMENT ON COLUMN pncp_data.contratacoes.unidade_codigo_ibge IS 'unidadeOrgao.codigoIbge: 7-digit IBGE municipality code (text).';
COMMENT ON COLUMN pncp_data.contratacoes.record IS 'The full record exactly as the API sent it (every field, including ones added after this table was designed).';
{{lineage_comments}}
