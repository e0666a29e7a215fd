-- pncp_data.instrumentos_cobranca: one row per billing instrument (NF-e), from instrumentoscobranca_inclusao
-- (SPEC §5.5). No control number: the key is (cnpj, ano, sequencialContrato, sequencialInstrumentoCobranca).
CREATE TABLE IF NOT EXISTS pncp_data.instrumentos_cobranca (
    record_key                          VARCHAR NOT NULL,
    cnpj                                VARCHAR,
    ano                                 INTEGER,
    sequencial_contrato                 INTEGER,
    sequencial_instrumento_cobranca     INTEGER,
    tipo_instrumento_cobranca_id        INTEGER,
    tipo_instrumento_cobranca_nome      VARCHAR,
    numero_instrumento_cobranca         VARCHAR,
    data_emissao_documento              DATE,
    observacao                          VARCHAR,
    chave_nfe                           VARCHAR,
    fonte_nfe                           INTEGER,
    data_consulta_nfe                   TIMESTAMP,
    status_response_nfe                 VARCHAR,
    data_inclusao                       TIMESTAMP,
    data_atualizacao                    TIMESTAMP,
    nfe_numero                          BIGINT,
    nfe_serie                           INTEGER,
    nfe_data_emissao                    DATE,
    nfe_ni_emitente                     VARCHAR,
    nfe_nome_emitente                   VARCHAR,
    nfe_municipio_emitente              VARCHAR,
    nfe_valor                           DECIMAL(38, 4),
    nfe_tipo_evento_mais_recente        VARCHAR,
    contrato_numero_controle_pncp       VARCHAR,
    contrato_numero_controle_pncp_compra VARCHAR,
    contrato_ni_fornecedor              VARCHAR,
    contrato_nome_razao_social_fornecedor VARCHAR,
    contrato_valor_global               DECIMAL(38, 4),
    contrato_orgao_cnpj                 VARCHAR,
    contrato_unidade_uf_sigla           VARCHAR,
    record                              JSON,
    {{lineage_ddl}}
);

COMMENT ON TABLE pncp_data.instrumentos_cobranca IS 'Billing instruments (instrumentos de cobrança, NF-e), one row per (cnpj, ano, sequencialContrato, sequencialInstrumentoCobranca): the most recent version (dataAtualizacao, then the latest landed page). Timestamps are Brasília local time (America/Sao_Paulo) as the API sends them, without a zone.';
COMMENT ON COLUMN pncp_data.instrumentos_cobranca.record_key IS 'The record''s identity: cnpj|ano|sequencialContrato|sequencialInstrumentoCobranca. Text, never a number.';
COMMENT ON COLUMN pncp_data.instrumentos_cobranca.cnpj IS 'CNPJ of the contract''s organ (text).';
COMMENT ON COLUMN pncp_data.instrumentos_cobranca.chave_nfe IS '44-digit NF-e access key (text).';
COMMENT ON COLUMN pncp_data.instrumentos_cobranca.data_consulta_nfe IS 'Brasília local time (America/Sao_Paulo), the API sends no zone.';
COMMENT ON COLUMN pncp_data.instrumentos_cobranca.data_inclusao IS 'Inclusion in PNCP (the endpoint''s date filter); Brasília local time (America/Sao_Paulo), the API sends no zone.';
COMMENT ON COLUMN pncp_data.instrumentos_cobranca.data_atualizacao IS 'Orders versions; Brasília local time (America/Sao_Paulo), the API sends no zone.';
COMMENT ON COLUMN pncp_data.instrumentos_cobranca.nfe_data_emissao IS 'notaFiscalEletronica.dataEmissao, sent as dd/MM/yyyy.';
COMMENT ON COLUMN pncp_data.instrumentos_cobranca.nfe_valor IS 'notaFiscalEletronica.valorNotaFiscal in BRL, sent as a Brazilian-formatted string ("4.920,00").';
COMMENT ON COLUMN pncp_data.instrumentos_cobranca.contrato_numero_controle_pncp IS 'recuperarContratoDTO.numeroControlePNCP: the contract billed (see pncp_data.contratos).';
COMMENT ON COLUMN pncp_data.instrumentos_cobranca.contrato_valor_global IS 'recuperarContratoDTO.valorGlobal in BRL.';
COMMENT ON COLUMN pncp_data.instrumentos_cobranca.record IS 'The full record exactly as the API sent it (every field, including the NF-e items, events and jsonResponseNFe text).';
{{lineage_comments}}
