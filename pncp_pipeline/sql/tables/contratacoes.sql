-- pncp_data.contratacoes rows from raw pages (tables/source_pages.sql, in the pages slot): each page body is parsed once into typed structs
-- (json_transform is lenient: a value of the wrong type becomes NULL, an unknown field is ignored)
-- and once into the records' own JSON, which is kept whole in `record`.
WITH pages AS ({{pages}}),
lists AS (
    SELECT source_raw_id, source_endpoint, source_month, source_page,
           json_transform(body, '{"data": [{
               "numeroControlePNCP": "VARCHAR", "anoCompra": "INTEGER", "sequencialCompra": "INTEGER",
               "numeroCompra": "VARCHAR", "processo": "VARCHAR",
               "modalidadeId": "INTEGER", "modalidadeNome": "VARCHAR",
               "modoDisputaId": "INTEGER", "modoDisputaNome": "VARCHAR",
               "tipoInstrumentoConvocatorioCodigo": "INTEGER", "tipoInstrumentoConvocatorioNome": "VARCHAR",
               "situacaoCompraId": "INTEGER", "situacaoCompraNome": "VARCHAR",
               "amparoLegal": {"codigo": "INTEGER", "nome": "VARCHAR", "descricao": "VARCHAR"},
               "srp": "BOOLEAN", "emendaParlamentar": "BOOLEAN",
               "objetoCompra": "VARCHAR", "informacaoComplementar": "VARCHAR", "justificativaPresencial": "VARCHAR",
               "valorTotalEstimado": "DECIMAL(38,4)", "valorTotalHomologado": "DECIMAL(38,4)",
               "dataPublicacaoPncp": "TIMESTAMP", "dataInclusao": "TIMESTAMP", "dataAtualizacao": "TIMESTAMP",
               "dataAtualizacaoGlobal": "TIMESTAMP", "dataAberturaProposta": "TIMESTAMP",
               "dataEncerramentoProposta": "TIMESTAMP",
               {{orgao_unidade_structure}},
               "linkSistemaOrigem": "VARCHAR", "linkProcessoEletronico": "VARCHAR", "usuarioNome": "VARCHAR"
           }]}').data AS typed,
           CAST(json_extract(body, '$.data') AS JSON[]) AS records
    FROM pages
),
recs AS (
    SELECT source_raw_id, source_endpoint, source_month, source_page,
           unnest(typed) AS s, unnest(records) AS record, unnest(range(1, len(records) + 1)) AS ordinal
    FROM lists
)
SELECT
    s.numeroControlePNCP                AS record_key,
    s.numeroControlePNCP                AS numero_controle_pncp,
    s.anoCompra                         AS ano_compra,
    s.sequencialCompra                  AS sequencial_compra,
    s.numeroCompra                      AS numero_compra,
    s.processo                          AS processo,
    s.modalidadeId                      AS modalidade_id,
    s.modalidadeNome                    AS modalidade_nome,
    s.modoDisputaId                     AS modo_disputa_id,
    s.modoDisputaNome                   AS modo_disputa_nome,
    s.tipoInstrumentoConvocatorioCodigo AS tipo_instrumento_convocatorio_codigo,
    s.tipoInstrumentoConvocatorioNome   AS tipo_instrumento_convocatorio_nome,
    s.situacaoCompraId                  AS situacao_compra_id,
    s.situacaoCompraNome                AS situacao_compra_nome,
    s.amparoLegal.codigo                AS amparo_legal_codigo,
    s.amparoLegal.nome                  AS amparo_legal_nome,
    s.amparoLegal.descricao             AS amparo_legal_descricao,
    s.srp                               AS srp,
    s.emendaParlamentar                 AS emenda_parlamentar,
    s.objetoCompra                      AS objeto_compra,
    s.informacaoComplementar            AS informacao_complementar,
    s.justificativaPresencial           AS justificativa_presencial,
    s.valorTotalEstimado                AS valor_total_estimado,
    s.valorTotalHomologado              AS valor_total_homologado,
    s.dataPublicacaoPncp                AS data_publicacao_pncp,
    s.dataInclusao                      AS data_inclusao,
    s.dataAtualizacao                   AS data_atualizacao,
    s.dataAtualizacaoGlobal             AS data_atualizacao_global,
    s.dataAberturaProposta              AS data_abertura_proposta,
    s.dataEncerramentoProposta          AS data_encerramento_proposta,
    {{orgao_unidade_columns}},
    s.linkSistemaOrigem                 AS link_sistema_origem,
    s.linkProcessoEletronico            AS link_processo_eletronico,
    s.usuarioNome                       AS usuario_nome,
    record,
    source_endpoint, source_month, source_page, source_raw_id,
    coalesce(s.dataAtualizacaoGlobal, s.dataAtualizacao) AS version_at,
    ordinal
FROM recs
WHERE s.numeroControlePNCP IS NOT NULL
