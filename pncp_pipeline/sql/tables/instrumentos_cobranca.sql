-- pncp_data.instrumentos_cobranca rows from raw pages (tables/source_pages.sql, in the pages slot); see contratacoes.sql for the pattern.
-- NF-e values are Brazilian-formatted strings ("4.920,00", "20/01/2025") and are converted here.
WITH pages AS ({{pages}}),
lists AS (
    SELECT source_raw_id, source_endpoint, source_month, source_page,
           json_transform(body, '{"data": [{
               "cnpj": "VARCHAR", "ano": "INTEGER", "sequencialContrato": "INTEGER",
               "sequencialInstrumentoCobranca": "INTEGER",
               "tipoInstrumentoCobranca": {"id": "INTEGER", "nome": "VARCHAR"},
               "numeroInstrumentoCobranca": "VARCHAR", "dataEmissaoDocumento": "DATE", "observacao": "VARCHAR",
               "chaveNFe": "VARCHAR", "fonteNFe": "INTEGER", "dataConsultaNFe": "TIMESTAMP",
               "statusResponseNFe": "VARCHAR", "dataInclusao": "TIMESTAMP", "dataAtualizacao": "TIMESTAMP",
               "notaFiscalEletronica": {"numero": "BIGINT", "serie": "INTEGER", "dataEmissao": "VARCHAR",
                                        "niEmitente": "VARCHAR", "nomeEmitente": "VARCHAR",
                                        "nomeMunicipioEmitente": "VARCHAR", "valorNotaFiscal": "VARCHAR",
                                        "tipoEventoMaisRecente": "VARCHAR"},
               "recuperarContratoDTO": {"numeroControlePNCP": "VARCHAR", "numeroControlePncpCompra": "VARCHAR",
                                        "niFornecedor": "VARCHAR", "nomeRazaoSocialFornecedor": "VARCHAR",
                                        "valorGlobal": "DECIMAL(38,4)",
                                        "orgaoEntidade": {"cnpj": "VARCHAR"},
                                        "unidadeOrgao": {"ufSigla": "VARCHAR"}}
           }]}').data AS typed,
           CAST(json_extract(body, '$.data') AS JSON[]) AS records
    FROM pages
),
recs AS (
    SELECT source_raw_id, source_endpoint, source_month, source_page,
           unnest(typed) AS s, unnest(records) AS record, unnest(range(1, len(records) + 1)) AS ordinal
    FROM lists
),
keyed AS (
    SELECT *, json_extract_string(record, ['$.cnpj', '$.ano', '$.sequencialContrato',
                                           '$.sequencialInstrumentoCobranca']) AS key_parts
    FROM recs
)
SELECT
    array_to_string(key_parts, '|')             AS record_key,
    s.cnpj                                      AS cnpj,
    s.ano                                       AS ano,
    s.sequencialContrato                        AS sequencial_contrato,
    s.sequencialInstrumentoCobranca             AS sequencial_instrumento_cobranca,
    s.tipoInstrumentoCobranca.id                AS tipo_instrumento_cobranca_id,
    s.tipoInstrumentoCobranca.nome              AS tipo_instrumento_cobranca_nome,
    s.numeroInstrumentoCobranca                 AS numero_instrumento_cobranca,
    s.dataEmissaoDocumento                      AS data_emissao_documento,
    s.observacao                                AS observacao,
    s.chaveNFe                                  AS chave_nfe,
    s.fonteNFe                                  AS fonte_nfe,
    s.dataConsultaNFe                           AS data_consulta_nfe,
    s.statusResponseNFe                         AS status_response_nfe,
    s.dataInclusao                              AS data_inclusao,
    s.dataAtualizacao                           AS data_atualizacao,
    s.notaFiscalEletronica.numero               AS nfe_numero,
    s.notaFiscalEletronica.serie                AS nfe_serie,
    try_strptime(s.notaFiscalEletronica.dataEmissao, '%d/%m/%Y')::DATE AS nfe_data_emissao,
    s.notaFiscalEletronica.niEmitente           AS nfe_ni_emitente,
    s.notaFiscalEletronica.nomeEmitente         AS nfe_nome_emitente,
    s.notaFiscalEletronica.nomeMunicipioEmitente AS nfe_municipio_emitente,
    TRY_CAST(CASE WHEN contains(s.notaFiscalEletronica.valorNotaFiscal, ',')  -- "4.920,00"; a plain "4920.00" as is
                  THEN replace(replace(s.notaFiscalEletronica.valorNotaFiscal, '.', ''), ',', '.')
                  ELSE s.notaFiscalEletronica.valorNotaFiscal END AS DECIMAL(38, 4)) AS nfe_valor,
    s.notaFiscalEletronica.tipoEventoMaisRecente AS nfe_tipo_evento_mais_recente,
    s.recuperarContratoDTO.numeroControlePNCP   AS contrato_numero_controle_pncp,
    s.recuperarContratoDTO.numeroControlePncpCompra AS contrato_numero_controle_pncp_compra,
    s.recuperarContratoDTO.niFornecedor         AS contrato_ni_fornecedor,
    s.recuperarContratoDTO.nomeRazaoSocialFornecedor AS contrato_nome_razao_social_fornecedor,
    s.recuperarContratoDTO.valorGlobal          AS contrato_valor_global,
    s.recuperarContratoDTO.orgaoEntidade.cnpj   AS contrato_orgao_cnpj,
    s.recuperarContratoDTO.unidadeOrgao.ufSigla AS contrato_unidade_uf_sigla,
    record,
    source_endpoint, source_month, source_page, source_raw_id,
    s.dataAtualizacao                           AS version_at,
    ordinal
FROM keyed
WHERE list_count(key_parts) = 4
