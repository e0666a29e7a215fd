-- pncp_data.pca_itens rows from raw pages (tables/source_pages.sql, in the pages slot): plans are unnested, then their items; the plan's
-- typed fields sit beside each item's. `ordinal` numbers an item within its page (plan, then item).
WITH pages AS ({{pages}}),
lists AS (
    SELECT source_raw_id, source_endpoint, source_month, source_page,
           json_transform(body, '{"data": [{
               "idPcaPncp": "VARCHAR", "anoPca": "INTEGER",
               "orgaoEntidadeCnpj": "VARCHAR", "orgaoEntidadeRazaoSocial": "VARCHAR",
               "codigoUnidade": "VARCHAR", "nomeUnidade": "VARCHAR",
               "dataPublicacaoPNCP": "TIMESTAMP", "dataAtualizacaoGlobalPCA": "TIMESTAMP",
               "itens": [{
                   "numeroItem": "INTEGER", "categoriaItemPcaNome": "VARCHAR",
                   "classificacaoCatalogoId": "INTEGER", "nomeClassificacaoCatalogo": "VARCHAR",
                   "classificacaoSuperiorCodigo": "VARCHAR", "classificacaoSuperiorNome": "VARCHAR",
                   "pdmCodigo": "VARCHAR", "pdmDescricao": "VARCHAR", "codigoItem": "VARCHAR",
                   "descricaoItem": "VARCHAR", "unidadeFornecimento": "VARCHAR",
                   "quantidadeEstimada": "DECIMAL(38,4)", "valorUnitario": "DECIMAL(38,4)",
                   "valorTotal": "DECIMAL(38,4)", "valorOrcamentoExercicio": "DECIMAL(38,4)",
                   "unidadeRequisitante": "VARCHAR", "grupoContratacaoCodigo": "VARCHAR",
                   "grupoContratacaoNome": "VARCHAR", "dataDesejada": "DATE",
                   "dataInclusao": "TIMESTAMP", "dataAtualizacao": "TIMESTAMP"
               }]
           }]}').data AS typed,
           CAST(json_extract(body, '$.data') AS JSON[]) AS plans
    FROM pages
),
plans AS (
    SELECT source_raw_id, source_endpoint, source_month, source_page,
           unnest(typed) AS p, unnest(plans) AS plan_json, unnest(range(1, len(plans) + 1)) AS plan_ordinal
    FROM lists
),
item_lists AS (
    -- items that are not a list count as none, as record keys do (a cast would abort the refresh)
    SELECT *, CASE WHEN json_type(plan_json, '$.itens') = 'ARRAY'
                   THEN CAST(json_extract(plan_json, '$.itens') AS JSON[]) ELSE [] END AS items,
           json_merge_patch(plan_json, '{"itens": null}') AS plano
    FROM plans
),
recs AS (
    SELECT source_raw_id, source_endpoint, source_month, source_page, p, plano, plan_ordinal,
           unnest(p.itens) AS i, unnest(items) AS record, unnest(range(1, len(items) + 1)) AS item_ordinal
    FROM item_lists
)
SELECT
    p.idPcaPncp || '|' || json_extract_string(record, '$.numeroItem') AS record_key,
    p.idPcaPncp                     AS id_pca_pncp,
    i.numeroItem                    AS numero_item,
    p.anoPca                        AS ano_pca,
    p.orgaoEntidadeCnpj             AS orgao_cnpj,
    p.orgaoEntidadeRazaoSocial      AS orgao_razao_social,
    p.codigoUnidade                 AS unidade_codigo,
    p.nomeUnidade                   AS unidade_nome,
    p.dataPublicacaoPNCP            AS plano_data_publicacao_pncp,
    p.dataAtualizacaoGlobalPCA      AS plano_data_atualizacao_global,
    i.categoriaItemPcaNome          AS categoria_item_pca_nome,
    i.classificacaoCatalogoId       AS classificacao_catalogo_id,
    i.nomeClassificacaoCatalogo     AS nome_classificacao_catalogo,
    i.classificacaoSuperiorCodigo   AS classificacao_superior_codigo,
    i.classificacaoSuperiorNome     AS classificacao_superior_nome,
    i.pdmCodigo                     AS pdm_codigo,
    i.pdmDescricao                  AS pdm_descricao,
    i.codigoItem                    AS codigo_item,
    i.descricaoItem                 AS descricao_item,
    i.unidadeFornecimento           AS unidade_fornecimento,
    i.quantidadeEstimada            AS quantidade_estimada,
    i.valorUnitario                 AS valor_unitario,
    i.valorTotal                    AS valor_total,
    i.valorOrcamentoExercicio       AS valor_orcamento_exercicio,
    i.unidadeRequisitante           AS unidade_requisitante,
    i.grupoContratacaoCodigo        AS grupo_contratacao_codigo,
    i.grupoContratacaoNome          AS grupo_contratacao_nome,
    i.dataDesejada                  AS data_desejada,
    i.dataInclusao                  AS data_inclusao,
    i.dataAtualizacao               AS data_atualizacao,
    record,
    plano,
    source_endpoint, source_month, source_page, source_raw_id,
    greatest(p.dataAtualizacaoGlobalPCA, i.dataAtualizacao) AS version_at,
    plan_ordinal * 100000 + item_ordinal AS ordinal
FROM recs
WHERE p.idPcaPncp IS NOT NULL AND json_extract_string(record, '$.numeroItem') IS NOT NULL
