-- pncp_data.contratos: one row per contract/commitment (numeroControlePNCP), from contratos_publicacao and
-- contratos_atualizacao (SPEC §5.2). Additive only: new typed columns come as ADD COLUMN IF NOT EXISTS.
CREATE TABLE IF NOT EXISTS pncp_data.contratos (
    record_key                      VARCHAR NOT NULL,
    numero_controle_pncp            VARCHAR,
    numero_controle_pncp_compra     VARCHAR,
    numero_controle_pncp_ata        VARCHAR,
    ano_contrato                    INTEGER,
    sequencial_contrato             INTEGER,
    numero_contrato_empenho         VARCHAR,
    processo                        VARCHAR,
    tipo_contrato_id                INTEGER,
    tipo_contrato_nome              VARCHAR,
    categoria_processo_id           INTEGER,
    categoria_processo_nome         VARCHAR,
    receita                         BOOLEAN,
    objeto_contrato                 VARCHAR,
    informacao_complementar         VARCHAR,
    {{orgao_unidade_ddl}},
    tipo_pessoa                     VARCHAR,
    ni_fornecedor                   VARCHAR,
    nome_razao_social_fornecedor    VARCHAR,
    codigo_pais_fornecedor          VARCHAR,
    tipo_pessoa_subcontratada       VARCHAR,
    ni_fornecedor_subcontratado     VARCHAR,
    nome_fornecedor_subcontratado   VARCHAR,
    valor_inicial                   DECIMAL(38, 4),
    valor_parcela                   DECIMAL(38, 4),
    valor_global                    DECIMAL(38, 4),
    valor_acumulado                 DECIMAL(38, 4),
    numero_parcelas                 INTEGER,
    numero_retificacao              INTEGER,
    data_assinatura                 DATE,
    data_vigencia_inicio            DATE,
    data_vigencia_fim               DATE,
    data_publicacao_pncp            TIMESTAMP,
    data_atualizacao                TIMESTAMP,
    data_atualizacao_global         TIMESTAMP,
    identificador_cipi              VARCHAR,
    url_cipi                        VARCHAR,
    emenda_parlamentar              BOOLEAN,
    fruto_adesao                    BOOLEAN,
    tem_remanejamento               BOOLEAN,
    usuario_nome                    VARCHAR,
    record                          JSON,
    {{lineage_ddl}}
);

COMMENT ON TABLE pncp_data.contratos IS 'Contracts and commitments (contratos/empenhos), one row per numeroControlePNCP: the most recent version (dataAtualizacaoGlobal, then the latest landed page) seen by contratos_publicacao/_atualizacao. Timestamps are Brasília local time (America/Sao_Paulo) as the API sends them, without a zone.';
COMMENT ON COLUMN pncp_data.contratos.record_key IS 'The record''s identity: numeroControlePNCP (CNPJ-2-sequence/year). Text, never a number: CNPJs become alphanumeric from July 2026.';
COMMENT ON COLUMN pncp_data.contratos.numero_controle_pncp_compra IS 'Control number of the procurement (contratação) the contract comes from; its CNPJ may be another organ''s (adhesion).';
COMMENT ON COLUMN pncp_data.contratos.tipo_contrato_id IS 'Contract type code (SPEC §4.2: 1 Contrato, 7 Empenho, ...); tipo_contrato_nome is its name.';
COMMENT ON COLUMN pncp_data.contratos.categoria_processo_id IS 'Process category code (SPEC §4.2); categoria_processo_nome is its name.';
COMMENT ON COLUMN pncp_data.contratos.receita IS 'True when the contract is revenue for the organ (e.g. a sale of assets).';
COMMENT ON COLUMN pncp_data.contratos.ni_fornecedor IS 'Supplier CNPJ/CPF/foreign id (text).';
COMMENT ON COLUMN pncp_data.contratos.valor_global IS 'Total contract value in BRL.';
COMMENT ON COLUMN pncp_data.contratos.data_assinatura IS 'Signature date (the API sends a date without time).';
COMMENT ON COLUMN pncp_data.contratos.data_publicacao_pncp IS 'Publication in PNCP; Brasília local time (America/Sao_Paulo), the API sends no zone.';
COMMENT ON COLUMN pncp_data.contratos.data_atualizacao IS 'Brasília local time (America/Sao_Paulo), the API sends no zone.';
COMMENT ON COLUMN pncp_data.contratos.data_atualizacao_global IS 'Last update of the record or its children; orders versions. Brasília local time (America/Sao_Paulo), the API sends no zone.';
COMMENT ON COLUMN pncp_data.contratos.orgao_cnpj IS 'orgaoEntidade.cnpj: the owning organ''s CNPJ (text).';
COMMENT ON COLUMN pncp_data.contratos.unidade_uf_sigla IS 'unidadeOrgao.ufSigla: state of the administrative unit.';
COMMENT ON COLUMN pncp_data.contratos.record IS 'The full record exactly as the API sent it (every field, including ones added after this table was designed).';
{{lineage_comments}}
