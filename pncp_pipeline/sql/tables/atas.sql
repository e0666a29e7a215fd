-- pncp_data.atas rows from raw pages (tables/source_pages.sql, in the pages slot); see contratacoes.sql for the parsing pattern.
WITH pages AS ({{pages}}),
lists AS (
    SELECT source_raw_id, source_endpoint, source_month, source_page,
           json_transform(body, '{"data": [{
               "numeroControlePNCPAta": "VARCHAR", "numeroControlePNCPCompra": "VARCHAR",
               "numeroAtaRegistroPreco": "VARCHAR", "anoAta": "INTEGER",
               "cancelado": "BOOLEAN", "possibilidadeAdesao": "BOOLEAN",
               "dataCancelamento": "DATE", "dataAssinatura": "DATE", "vigenciaInicio": "DATE", "vigenciaFim": "DATE",
               "dataPublicacaoPncp": "DATE", "dataInclusao": "DATE", "dataAtualizacao": "DATE",
               "dataAtualizacaoGlobal": "DATE",
               "objetoContratacao": "VARCHAR", "usuario": "VARCHAR",
               "cnpjOrgao": "VARCHAR", "nomeOrgao": "VARCHAR", "cnpjOrgaoSubrogado": "VARCHAR",
               "nomeOrgaoSubrogado": "VARCHAR", "codigoUnidadeOrgao": "VARCHAR", "nomeUnidadeOrgao": "VARCHAR",
               "codigoUnidadeOrgaoSubrogado": "VARCHAR", "nomeUnidadeOrgaoSubrogado": "VARCHAR"
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
    s.numeroControlePNCPAta         AS record_key,
    s.numeroControlePNCPAta         AS numero_controle_pncp_ata,
    s.numeroControlePNCPCompra      AS numero_controle_pncp_compra,
    s.numeroAtaRegistroPreco        AS numero_ata_registro_preco,
    s.anoAta                        AS ano_ata,
    s.cancelado                     AS cancelado,
    s.possibilidadeAdesao           AS possibilidade_adesao,
    s.dataCancelamento              AS data_cancelamento,
    s.dataAssinatura                AS data_assinatura,
    s.vigenciaInicio                AS vigencia_inicio,
    s.vigenciaFim                   AS vigencia_fim,
    s.dataPublicacaoPncp            AS data_publicacao_pncp,
    s.dataInclusao                  AS data_inclusao,
    s.dataAtualizacao               AS data_atualizacao,
    s.dataAtualizacaoGlobal         AS data_atualizacao_global,
    s.objetoContratacao             AS objeto_contratacao,
    s.usuario                       AS usuario,
    s.cnpjOrgao                     AS orgao_cnpj,
    s.nomeOrgao                     AS orgao_nome,
    s.cnpjOrgaoSubrogado            AS orgao_subrogado_cnpj,
    s.nomeOrgaoSubrogado            AS orgao_subrogado_nome,
    s.codigoUnidadeOrgao            AS unidade_codigo,
    s.nomeUnidadeOrgao              AS unidade_nome,
    s.codigoUnidadeOrgaoSubrogado   AS unidade_subrogada_codigo,
    s.nomeUnidadeOrgaoSubrogado     AS unidade_subrogada_nome,
    record,
    source_endpoint, source_month, source_page, source_raw_id,
    coalesce(s.dataAtualizacaoGlobal, s.dataAtualizacao)::TIMESTAMP AS version_at,
    ordinal
FROM recs
WHERE s.numeroControlePNCPAta IS NOT NULL
