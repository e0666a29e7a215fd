"""The typed tables (tables.py): built by SQL from raw pages, one row per record key, the newest version.

Real records come from ../shared/pncp-api/samples (landed as raw pages exactly as the writer stores
them); volume, duplicates across endpoints and pages, and months come from the replica over HTTP.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pncp_pipeline import tables
from pncp_pipeline.replica.app import Replica
from pncp_pipeline.replica.faults import Faults
from pncp_pipeline.replica.server import ReplicaServer
from pncp_pipeline.storage import ensure_schema
from pncp_pipeline_tests import helpers
from pncp_pipeline_tests.conftest import SHARED, TODAY
from pncp_pipeline_tests.test_cli import cli

SAMPLES = SHARED / "samples"
JUNE, JULY, AUGUST = date(2025, 6, 1), date(2025, 7, 1), date(2025, 8, 1)
REPLICA_ENDPOINTS = ["contratos_publicacao", "contratos_atualizacao", "pca_atualizacao"]


# -- landing raw pages by hand, as the writer stores them --------------------------------------------

def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def probe_record(endpoint: str) -> dict[str, Any]:
    (entry,) = [e for e in sample("multi-endpoint_probe-one-record-each-2025-07-17.json") if e["endpoint"] == endpoint]
    return entry["sample_record"]


def envelope(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"data": records, "totalRegistros": len(records), "totalPaginas": 1, "numeroPagina": 1,
            "paginasRestantes": 0, "empty": False}


def land(conn: duckdb.DuckDBPyConnection, endpoint: str, month: date, body: dict[str, Any] | str, page: int = 1,
         fetched_at: datetime | None = None) -> int:
    """One landed data page (and its COMPLETE task if new); returns the raw row id."""
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    records = len(json.loads(text)["data"])
    task_id = f"{endpoint}_{month.isoformat()}"
    conn.execute("INSERT INTO psa.pncp_extraction_tasks (task_id, endpoint_name, data_date, status, total_pages, "
                 "total_records, records_landed, missing_pages) VALUES (?, ?, ?, 'COMPLETE', 1, ?, ?, '[]') "
                 "ON CONFLICT DO NOTHING", [task_id, endpoint, month, records, records])
    (raw_id,) = conn.execute(
        "INSERT INTO psa.pncp_raw_responses (task_id, endpoint_name, data_date, page, request_url, status_code, "
        "response_class, body, page_records, attempt, run_id, fetched_at) "
        "VALUES (?, ?, ?, ?, 'http://test/', 200, 'data', ?, ?, 1, 'test', ?) RETURNING id",
        [task_id, endpoint, month, page, text, records, fetched_at or datetime.now()]).fetchone()
    return raw_id


@pytest.fixture
def conn(db_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect(str(db_path)) as c:
        ensure_schema(c)
        yield c


def rows(conn: duckdb.DuckDBPyConnection, sql: str, params: Any = None) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


# -- real records: every typed column, value and type --------------------------------------------------

ORGAO = {"cnpj": "cnpj", "razao_social": "razaoSocial", "poder_id": "poderId", "esfera_id": "esferaId"}
UNIDADE = {"codigo": "codigoUnidade", "nome": "nomeUnidade", "uf_sigla": "ufSigla", "uf_nome": "ufNome",
           "municipio_nome": "municipioNome", "codigo_ibge": "codigoIbge"}


def nested(prefix: str, parent: str, fields: dict[str, str]) -> dict[str, str]:
    return {f"{prefix}_{col}": f"{parent}.{path}" for col, path in fields.items()}


#: typed column -> JSON path in the record (a dotted path for nested objects); the oracle below converts
#: the JSON value by the column's declared type, independently of the SQL under test.
MAPPINGS: dict[str, dict[str, str]] = {
    "contratacoes": {
        "record_key": "numeroControlePNCP", "numero_controle_pncp": "numeroControlePNCP", "ano_compra": "anoCompra",
        "sequencial_compra": "sequencialCompra", "numero_compra": "numeroCompra", "processo": "processo",
        "modalidade_id": "modalidadeId", "modalidade_nome": "modalidadeNome", "modo_disputa_id": "modoDisputaId",
        "modo_disputa_nome": "modoDisputaNome",
        "tipo_instrumento_convocatorio_codigo": "tipoInstrumentoConvocatorioCodigo",
        "tipo_instrumento_convocatorio_nome": "tipoInstrumentoConvocatorioNome",
        "situacao_compra_id": "situacaoCompraId", "situacao_compra_nome": "situacaoCompraNome",
        "amparo_legal_codigo": "amparoLegal.codigo", "amparo_legal_nome": "amparoLegal.nome",
        "amparo_legal_descricao": "amparoLegal.descricao", "srp": "srp", "emenda_parlamentar": "emendaParlamentar",
        "objeto_compra": "objetoCompra", "informacao_complementar": "informacaoComplementar",
        "justificativa_presencial": "justificativaPresencial", "valor_total_estimado": "valorTotalEstimado",
        "valor_total_homologado": "valorTotalHomologado", "data_publicacao_pncp": "dataPublicacaoPncp",
        "data_inclusao": "dataInclusao", "data_atualizacao": "dataAtualizacao",
        "data_atualizacao_global": "dataAtualizacaoGlobal", "data_abertura_proposta": "dataAberturaProposta",
        "data_encerramento_proposta": "dataEncerramentoProposta",
        **nested("orgao", "orgaoEntidade", ORGAO), **nested("unidade", "unidadeOrgao", UNIDADE),
        **nested("orgao_subrogado", "orgaoSubRogado", ORGAO), **nested("unidade_subrogada", "unidadeSubRogada", UNIDADE),
        "link_sistema_origem": "linkSistemaOrigem", "link_processo_eletronico": "linkProcessoEletronico",
        "usuario_nome": "usuarioNome",
    },
    "contratos": {
        "record_key": "numeroControlePNCP", "numero_controle_pncp": "numeroControlePNCP",
        "numero_controle_pncp_compra": "numeroControlePncpCompra", "numero_controle_pncp_ata": "numeroControlePncpAta",
        "ano_contrato": "anoContrato", "sequencial_contrato": "sequencialContrato",
        "numero_contrato_empenho": "numeroContratoEmpenho", "processo": "processo",
        "tipo_contrato_id": "tipoContrato.id", "tipo_contrato_nome": "tipoContrato.nome",
        "categoria_processo_id": "categoriaProcesso.id", "categoria_processo_nome": "categoriaProcesso.nome",
        "receita": "receita", "objeto_contrato": "objetoContrato", "informacao_complementar": "informacaoComplementar",
        **nested("orgao", "orgaoEntidade", ORGAO), **nested("unidade", "unidadeOrgao", UNIDADE),
        **nested("orgao_subrogado", "orgaoSubRogado", ORGAO), **nested("unidade_subrogada", "unidadeSubRogada", UNIDADE),
        "tipo_pessoa": "tipoPessoa", "ni_fornecedor": "niFornecedor",
        "nome_razao_social_fornecedor": "nomeRazaoSocialFornecedor", "codigo_pais_fornecedor": "codigoPaisFornecedor",
        "tipo_pessoa_subcontratada": "tipoPessoaSubContratada",
        "ni_fornecedor_subcontratado": "niFornecedorSubContratado",
        "nome_fornecedor_subcontratado": "nomeFornecedorSubContratado", "valor_inicial": "valorInicial",
        "valor_parcela": "valorParcela", "valor_global": "valorGlobal", "valor_acumulado": "valorAcumulado",
        "numero_parcelas": "numeroParcelas", "numero_retificacao": "numeroRetificacao",
        "data_assinatura": "dataAssinatura", "data_vigencia_inicio": "dataVigenciaInicio",
        "data_vigencia_fim": "dataVigenciaFim", "data_publicacao_pncp": "dataPublicacaoPncp",
        "data_atualizacao": "dataAtualizacao", "data_atualizacao_global": "dataAtualizacaoGlobal",
        "identificador_cipi": "identificadorCipi", "url_cipi": "urlCipi", "emenda_parlamentar": "emendaParlamentar",
        "fruto_adesao": "frutoAdesao", "tem_remanejamento": "temRemanejamento", "usuario_nome": "usuarioNome",
    },
    "atas": {
        "record_key": "numeroControlePNCPAta", "numero_controle_pncp_ata": "numeroControlePNCPAta",
        "numero_controle_pncp_compra": "numeroControlePNCPCompra", "numero_ata_registro_preco": "numeroAtaRegistroPreco",
        "ano_ata": "anoAta", "cancelado": "cancelado", "possibilidade_adesao": "possibilidadeAdesao",
        "data_cancelamento": "dataCancelamento", "data_assinatura": "dataAssinatura",
        "vigencia_inicio": "vigenciaInicio", "vigencia_fim": "vigenciaFim",
        "data_publicacao_pncp": "dataPublicacaoPncp", "data_inclusao": "dataInclusao",
        "data_atualizacao": "dataAtualizacao", "data_atualizacao_global": "dataAtualizacaoGlobal",
        "objeto_contratacao": "objetoContratacao", "usuario": "usuario", "orgao_cnpj": "cnpjOrgao",
        "orgao_nome": "nomeOrgao", "orgao_subrogado_cnpj": "cnpjOrgaoSubrogado",
        "orgao_subrogado_nome": "nomeOrgaoSubrogado", "unidade_codigo": "codigoUnidadeOrgao",
        "unidade_nome": "nomeUnidadeOrgao", "unidade_subrogada_codigo": "codigoUnidadeOrgaoSubrogado",
        "unidade_subrogada_nome": "nomeUnidadeOrgaoSubrogado",
    },
    "pca_itens": {  # "plan." paths are read on the plan, the others on the item
        "id_pca_pncp": "plan.idPcaPncp", "numero_item": "numeroItem", "ano_pca": "plan.anoPca",
        "orgao_cnpj": "plan.orgaoEntidadeCnpj", "orgao_razao_social": "plan.orgaoEntidadeRazaoSocial",
        "unidade_codigo": "plan.codigoUnidade", "unidade_nome": "plan.nomeUnidade",
        "plano_data_publicacao_pncp": "plan.dataPublicacaoPNCP",
        "plano_data_atualizacao_global": "plan.dataAtualizacaoGlobalPCA",
        "categoria_item_pca_nome": "categoriaItemPcaNome", "classificacao_catalogo_id": "classificacaoCatalogoId",
        "nome_classificacao_catalogo": "nomeClassificacaoCatalogo",
        "classificacao_superior_codigo": "classificacaoSuperiorCodigo",
        "classificacao_superior_nome": "classificacaoSuperiorNome", "pdm_codigo": "pdmCodigo",
        "pdm_descricao": "pdmDescricao", "codigo_item": "codigoItem", "descricao_item": "descricaoItem",
        "unidade_fornecimento": "unidadeFornecimento", "quantidade_estimada": "quantidadeEstimada",
        "valor_unitario": "valorUnitario", "valor_total": "valorTotal",
        "valor_orcamento_exercicio": "valorOrcamentoExercicio", "unidade_requisitante": "unidadeRequisitante",
        "grupo_contratacao_codigo": "grupoContratacaoCodigo", "grupo_contratacao_nome": "grupoContratacaoNome",
        "data_desejada": "dataDesejada", "data_inclusao": "dataInclusao", "data_atualizacao": "dataAtualizacao",
    },
    "instrumentos_cobranca": {
        "cnpj": "cnpj", "ano": "ano", "sequencial_contrato": "sequencialContrato",
        "sequencial_instrumento_cobranca": "sequencialInstrumentoCobranca",
        "tipo_instrumento_cobranca_id": "tipoInstrumentoCobranca.id",
        "tipo_instrumento_cobranca_nome": "tipoInstrumentoCobranca.nome",
        "numero_instrumento_cobranca": "numeroInstrumentoCobranca", "data_emissao_documento": "dataEmissaoDocumento",
        "observacao": "observacao", "chave_nfe": "chaveNFe", "fonte_nfe": "fonteNFe",
        "data_consulta_nfe": "dataConsultaNFe", "status_response_nfe": "statusResponseNFe",
        "data_inclusao": "dataInclusao", "data_atualizacao": "dataAtualizacao",
        "nfe_numero": "notaFiscalEletronica.numero", "nfe_serie": "notaFiscalEletronica.serie",
        "nfe_ni_emitente": "notaFiscalEletronica.niEmitente", "nfe_nome_emitente": "notaFiscalEletronica.nomeEmitente",
        "nfe_municipio_emitente": "notaFiscalEletronica.nomeMunicipioEmitente",
        "nfe_tipo_evento_mais_recente": "notaFiscalEletronica.tipoEventoMaisRecente",
        "contrato_numero_controle_pncp": "recuperarContratoDTO.numeroControlePNCP",
        "contrato_numero_controle_pncp_compra": "recuperarContratoDTO.numeroControlePncpCompra",
        "contrato_ni_fornecedor": "recuperarContratoDTO.niFornecedor",
        "contrato_nome_razao_social_fornecedor": "recuperarContratoDTO.nomeRazaoSocialFornecedor",
        "contrato_valor_global": "recuperarContratoDTO.valorGlobal",
        "contrato_orgao_cnpj": "recuperarContratoDTO.orgaoEntidade.cnpj",
        "contrato_unidade_uf_sigla": "recuperarContratoDTO.unidadeOrgao.ufSigla",
    },
}

#: Columns the oracle cannot derive by type alone, with the value expected for the real sample.
SPECIAL = {
    "pca_itens": {"record_key", "record", "plano"},
    "instrumentos_cobranca": {"record_key", "record", "nfe_data_emissao", "nfe_valor"},
}
LINEAGE = {"source_endpoint", "source_month", "source_page", "source_raw_id", "loaded_at"}


def get(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        value = None if value is None else value.get(part)
    return value


def convert(value: Any, column_type: str) -> Any:
    """The JSON value as the column's declared type should hold it (None stays None)."""
    if value is None:
        return None
    if column_type == "VARCHAR":
        return value if isinstance(value, str) else json.dumps(value)
    if column_type in ("INTEGER", "BIGINT"):
        return int(value)
    if column_type.startswith("DECIMAL"):
        return Decimal(str(value))
    if column_type == "BOOLEAN":
        return bool(value)
    if column_type == "DATE":
        return date.fromisoformat(value[:10])
    if column_type == "TIMESTAMP":
        return datetime.fromisoformat(value)
    raise AssertionError(f"no oracle for {column_type}")


def column_types(conn: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    return dict(conn.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'pncp_data' "
                             "AND table_name = ? ORDER BY column_index", [table]).fetchall())


REAL_PAGES = {
    "contratacoes": ("contratacoes_publicacao", lambda: sample("contratacoes-publicacao_modalidade6-jun-jul2025-page1.json")),
    "contratos": ("contratos_publicacao", lambda: sample("contratos_jun-jul2025-page1-first20.json")),
    "atas": ("atas_vigencia", lambda: sample("atas_vigencia-jun-jul2025-page1-first20.json")),
    "pca_itens": ("pca_atualizacao", lambda: envelope([probe_record("pca_atualizacao")])),
    "instrumentos_cobranca": ("instrumentoscobranca_inclusao",
                              lambda: envelope([probe_record("instrumentoscobranca_inclusao")])),
}


@pytest.mark.parametrize("name", list(REAL_PAGES))
def test_every_typed_column_of_real_records_has_the_right_value_and_type(conn: duckdb.DuckDBPyConnection,
                                                                         name: str) -> None:
    endpoint, page = REAL_PAGES[name]
    body = page()
    raw_id = land(conn, endpoint, JULY, body)
    (result,) = tables.refresh(conn, [JULY], [tables.get_table(name)])
    types = column_types(conn, name)
    mapping = MAPPINGS[name]
    # The oracle covers every typed column of the table: nothing typed escapes the comparison.
    assert set(types) - LINEAGE - SPECIAL.get(name, {"record"}) - {"record"} == set(mapping)

    if name == "pca_itens":
        plan = body["data"][0]
        records = [{**item, "plan": plan} for item in plan["itens"]]
    else:
        records = body["data"]
    table_rows = rows(conn, f"SELECT * FROM pncp_data.{name} ORDER BY source_raw_id")
    by_key = {r["record_key"]: r for r in table_rows}
    assert len(table_rows) == len(by_key) == len(records) == result.rows
    for record in records:
        if name == "pca_itens":
            key = f"{record['plan']['idPcaPncp']}|{record['numeroItem']}"
        elif name == "instrumentos_cobranca":
            key = "|".join(str(record[k]) for k in ("cnpj", "ano", "sequencialContrato", "sequencialInstrumentoCobranca"))
        else:
            key = record[mapping["record_key"]]
        row = by_key[key]
        for column, path in mapping.items():
            expected = convert(get(record, path), types[column])
            assert row[column] == expected, (key, column)
            assert type(row[column]) is type(expected), (key, column)
        original = {k: v for k, v in record.items() if k != "plan"}
        assert json.loads(row["record"]) == original  # the whole record, every field
        assert (row["source_endpoint"], row["source_month"], row["source_page"], row["source_raw_id"]) == (
            endpoint, JULY, 1, raw_id)
        assert isinstance(row["loaded_at"], datetime)


def test_known_real_values_spot_checks(conn: duckdb.DuckDBPyConnection) -> None:
    """A few values written out by hand from the samples, so the oracle above cannot be wrong with the SQL."""
    land(conn, "contratacoes_publicacao", JULY, sample("contratacoes-publicacao_modalidade6-jun-jul2025-page1.json"))
    land(conn, "pca_atualizacao", JULY, envelope([probe_record("pca_atualizacao")]))
    land(conn, "instrumentoscobranca_inclusao", JULY, envelope([probe_record("instrumentoscobranca_inclusao")]))
    tables.refresh(conn, [JULY])
    (c,) = rows(conn, "SELECT * FROM pncp_data.contratacoes WHERE record_key = '90940172000138-1-000025/2025'")
    assert c["valor_total_estimado"] == Decimal("698802.0000") and c["valor_total_homologado"] == Decimal("673989")
    assert c["data_atualizacao_global"] == datetime(2025, 7, 11, 12, 21, 29)
    assert c["orgao_cnpj"] == "90940172000138" and c["unidade_uf_sigla"] == "RS"
    assert c["unidade_codigo_ibge"] == "4301602" and c["modalidade_id"] == 6 and c["situacao_compra_id"] == 1
    assert c["amparo_legal_nome"] == "Lei 14.133/2021, Art. 28, I" and c["srp"] is True
    (p,) = rows(conn, "SELECT * FROM pncp_data.pca_itens WHERE record_key = '47015532000166-0-000002/2025|3'")
    assert p["descricao_item"] == "CARIMBO" and p["valor_unitario"] == Decimal("33.99")
    assert p["valor_total"] == Decimal("339.9") and p["data_desejada"] == date(2025, 3, 29)
    assert p["orgao_razao_social"] == "BRAGANCA PAULISTA CAMARA MUNICIPAL" and p["ano_pca"] == 2025
    plano = json.loads(p["plano"])
    assert "itens" not in plano and plano["idPcaPncp"] == "47015532000166-0-000002/2025"
    (i,) = rows(conn, "SELECT * FROM pncp_data.instrumentos_cobranca")
    assert i["record_key"] == "03277610000125|2025|129|1"
    assert i["nfe_valor"] == Decimal("4920.00") and i["nfe_data_emissao"] == date(2025, 1, 20)
    assert i["chave_nfe"] == "15250126174873000104550030000010201651717123"
    assert i["contrato_valor_global"] == Decimal("4920") and i["contrato_unidade_uf_sigla"] == "DF"
    assert json.loads(json.loads(i["record"])["jsonResponseNFe"])["notaFiscalDTO"]["numero"] == 1020


def test_identifiers_are_text_amounts_decimal_and_timestamps_say_brasilia(conn: duckdb.DuckDBPyConnection) -> None:
    tables.ensure_tables(conn)
    columns = conn.execute("SELECT table_name, column_name, data_type, comment FROM duckdb_columns() "
                           "WHERE schema_name = 'pncp_data'").fetchall()
    assert {t for t, *_ in columns} == set(tables.BY_NAME)
    for table, column, kind, comment in columns:
        where = f"{table}.{column}"
        if column in ("record_key", "record", "plano") or column.startswith(("numero_controle", "id_pca")) \
                or "cnpj" in column or column.startswith(("ni_", "nfe_ni_", "contrato_ni_")) or column == "chave_nfe":
            assert kind in ("VARCHAR", "JSON"), where
        if column.startswith(("valor_", "contrato_valor_")) or column in ("nfe_valor", "quantidade_estimada"):
            assert kind == "DECIMAL(38,4)", where
        if column.startswith(("data_", "plano_data_", "vigencia_")) or column == "nfe_data_emissao":
            assert kind in ("DATE", "TIMESTAMP"), where
        if kind == "TIMESTAMP":
            assert comment and "Brasília" in comment, where
        if column.endswith(("_id", "_codigo")) and not column.startswith(("unidade", "orgao", "source_")) \
                and column not in ("classificacao_superior_codigo", "grupo_contratacao_codigo", "pdm_codigo"):
            assert kind == "INTEGER", where
    comment = conn.execute("SELECT comment FROM duckdb_tables() WHERE schema_name = 'pncp_data' "
                           "AND table_name = 'contratos'").fetchone()[0]
    assert "Brasília" in comment


def test_a_record_with_unknown_fields_and_odd_values_loads_and_keeps_them(conn: duckdb.DuckDBPyConnection) -> None:
    page = sample("contratos_jun-jul2025-page1-first20.json")
    odd = page["data"][0]
    odd["campoNovoDaApi"] = {"valor": 1, "lista": [1, 2]}   # a field the API adds tomorrow
    odd["valorGlobal"] = "não informado"                     # a number sent as text
    odd["tipoContrato"] = "Contrato"                         # an object sent as a string
    odd["dataAssinatura"] = "2025-13-45"                     # an impossible date
    odd["orgaoEntidade"]["cnpj"] = "12ABC34501DE35"          # an alphanumeric CNPJ (from July 2026)
    land(conn, "contratos_publicacao", JULY, page)
    (result,) = tables.refresh(conn, [JULY], [tables.get_table("contratos")])
    assert result.rows == len(page["data"])
    (row,) = rows(conn, "SELECT * FROM pncp_data.contratos WHERE record_key = ?", [odd["numeroControlePNCP"]])
    assert row["valor_global"] is None and row["tipo_contrato_id"] is None and row["data_assinatura"] is None
    assert row["orgao_cnpj"] == "12ABC34501DE35"
    assert row["valor_inicial"] == Decimal(str(odd["valorInicial"]))  # the rest of the record is unaffected
    record = json.loads(row["record"])
    assert record["campoNovoDaApi"] == {"valor": 1, "lista": [1, 2]}
    assert record["valorGlobal"] == "não informado" and record["tipoContrato"] == "Contrato"
    assert conn.execute("SELECT record->>'$.campoNovoDaApi.valor' FROM pncp_data.contratos WHERE record_key = ?",
                        [odd["numeroControlePNCP"]]).fetchone() == ("1",)


def test_a_record_without_its_key_is_not_loaded_and_the_check_says_so(conn: duckdb.DuckDBPyConnection) -> None:
    page = sample("atas_vigencia-jun-jul2025-page1-first20.json")
    del page["data"][3]["numeroControlePNCPAta"]
    land(conn, "atas_atualizacao", JULY, page)
    table = tables.get_table("atas")
    (result,) = tables.refresh(conn, [JULY], [table])
    assert result.rows == len(page["data"]) - 1
    (month,) = tables.landed(conn, table, [JULY])
    assert (month.occurrences, month.distinct_records, month.unkeyed, month.missing) == (20, 19, 1, 0)
    assert month.unexplained == 0 and month.moved == 0


def test_a_plan_whose_items_are_not_a_list_has_no_rows_and_the_rest_loads(conn: duckdb.DuckDBPyConnection) -> None:
    plan = probe_record("pca_atualizacao")
    odd = {**plan, "idPcaPncp": plan["idPcaPncp"] + "-odd", "itens": {"numeroItem": 1}}
    land(conn, "pca_atualizacao", JULY, envelope([odd, plan]))
    table = tables.get_table("pca_itens")
    (result,) = tables.refresh(conn, [JULY], [table])
    assert result.rows == len(plan["itens"]) > 0
    assert conn.execute("SELECT count(*) FROM pncp_data.pca_itens WHERE id_pca_pncp = ?",
                        [odd["idPcaPncp"]]).fetchone() == (0,)
    (month,) = tables.landed(conn, table, [JULY])
    assert (month.occurrences, month.distinct_records, month.missing) == (len(plan["itens"]),) * 2 + (0,)


# -- dedupe: across endpoints and pages (replica), across months (hand-landed) -------------------------

@pytest.fixture(scope="module")
def replica_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """June and July 2025 of two contract endpoints and PCA, with unstable ordering on every page
    boundary, extracted once for the module (tests work on copies)."""
    server = ReplicaServer(Replica(seed=3, faults=Faults(unstable_order=1.0), today=TODAY)).start()
    try:
        path = tmp_path_factory.mktemp("replica_db") / "pncp.duckdb"
        for month in ("2025-06", "2025-07"):
            assert helpers.run(path, server.url, month, endpoints=REPLICA_ENDPOINTS).complete
        yield path
    finally:
        server.stop()


@pytest.fixture
def replica_conn(replica_db: Path, tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    copy = tmp_path / "copy.duckdb"
    shutil.copy(replica_db, copy)
    with duckdb.connect(str(copy)) as c:
        yield c


def expected_winners(conn: duckdb.DuckDBPyConnection, endpoints: list[str]) -> dict[str, tuple[str, int]]:
    """An independent oracle in Python over the raw pages: key -> (dataAtualizacaoGlobal, raw id) of the
    newest version (ties: the latest landed page)."""
    best: dict[str, tuple[str, int]] = {}
    for raw_id, body in conn.execute("SELECT id, body FROM psa.pncp_raw_responses WHERE response_class = 'data' "
                                     "AND endpoint_name IN (SELECT unnest(?))", [endpoints]).fetchall():
        for record in json.loads(body)["data"]:
            version = (record["dataAtualizacaoGlobal"], raw_id)
            key = record["numeroControlePNCP"]
            best[key] = max(best.get(key, version), version)
    return best


def test_duplicates_across_endpoints_and_pages_collapse_to_the_latest_version(
        replica_conn: duckdb.DuckDBPyConnection) -> None:
    endpoints = ["contratos_publicacao", "contratos_atualizacao"]
    (result,) = tables.refresh(replica_conn, [JUNE, JULY], [tables.get_table("contratos")])
    winners = expected_winners(replica_conn, endpoints)
    table = {k: (g, raw) for k, g, raw in replica_conn.execute(
        "SELECT record_key, strftime(data_atualizacao_global, '%Y-%m-%dT%H:%M:%S'), source_raw_id "
        "FROM pncp_data.contratos").fetchall()}
    assert table == winners
    assert result.rows == len(winners)
    landed = replica_conn.execute("SELECT sum(page_records) FROM psa.pncp_raw_responses WHERE response_class = 'data' "
                                  "AND endpoint_name IN (SELECT unnest(?))", [endpoints]).fetchone()[0]
    assert landed > len(winners) * 1.5  # both endpoints hold most records, and pages repeat some
    in_both = replica_conn.execute(
        "SELECT count(*) FROM pncp_data.contratos WHERE source_endpoint = 'contratos_atualizacao' AND record_key IN "
        "(SELECT json_extract_string(r, '$.numeroControlePNCP') FROM psa.pncp_raw_responses, "
        "unnest(CAST(json_extract(body, '$.data') AS JSON[])) AS u(r) WHERE endpoint_name = 'contratos_publicacao')"
    ).fetchone()[0]
    assert in_both > 100  # the update endpoint's later dataAtualizacaoGlobal won over the publication's copy


def test_pca_has_one_row_per_item_with_its_plans_fields(replica_conn: duckdb.DuckDBPyConnection) -> None:
    table = tables.get_table("pca_itens")
    tables.refresh(replica_conn, [JUNE, JULY], [table])
    n, keys, plans, without_plan = replica_conn.execute(
        "SELECT count(*), count(DISTINCT (id_pca_pncp, numero_item)), count(DISTINCT id_pca_pncp), "
        "count(*) FILTER (WHERE orgao_cnpj IS NULL OR ano_pca IS NULL) FROM pncp_data.pca_itens").fetchone()
    assert n == keys > plans > 0 and without_plan == 0
    declared = replica_conn.execute("SELECT sum(records_distinct) FROM psa.pncp_extraction_tasks "
                                    "WHERE endpoint_name = 'pca_atualizacao'").fetchone()[0]
    assert n == declared  # items, as the API counts them, not plans
    for month in tables.landed(replica_conn, table, [JUNE, JULY]):
        assert month.missing == 0 and month.unexplained == 0


def test_a_new_month_is_rebuilt_alone_and_earlier_months_are_not_touched(
        replica_conn: duckdb.DuckDBPyConnection) -> None:
    table = tables.get_table("contratos")
    (june,) = tables.refresh(replica_conn, [JUNE], [table])
    before = rows(replica_conn, "SELECT record_key, source_raw_id, loaded_at FROM pncp_data.contratos ORDER BY 1")
    assert {r["record_key"] for r in before} and june.rows == len(before)
    versions_june = replica_conn.execute("SELECT count(*) FROM pncp_meta.record_versions WHERE month = ?",
                                         [JUNE]).fetchone()[0]

    (july,) = tables.refresh(replica_conn, [JULY], [table])
    july_records = replica_conn.execute(
        "SELECT sum(page_records) FROM psa.pncp_raw_responses WHERE response_class = 'data' AND data_date = ? "
        "AND endpoint_name LIKE 'contratos_%'", [JULY]).fetchone()[0]
    assert july.versions == july_records  # only July's pages were parsed
    assert july.reparsed_pages == 0 and july.deleted == 0  # no June row was replaced
    after = rows(replica_conn, "SELECT record_key, source_raw_id, loaded_at FROM pncp_data.contratos "
                               "WHERE source_month = ? ORDER BY 1", [JUNE])
    assert after == before  # same rows, same versions, same load time
    assert replica_conn.execute("SELECT count(*) FROM pncp_meta.record_versions WHERE month = ?",
                                [JUNE]).fetchone()[0] == versions_june
    assert replica_conn.execute("SELECT count(*) FROM pncp_data.contratos WHERE source_month = ?",
                                [JULY]).fetchone()[0] == july.rows > 0
    months = replica_conn.execute("SELECT month, refresh_id FROM pncp_meta.table_refreshes "
                                  "WHERE table_name = 'contratos' ORDER BY month").fetchall()
    assert [m for m, _ in months] == [JUNE, JULY] and months[0][1] != months[1][1]
    assert tables.latest_refresh_months(replica_conn, table) == [JULY]


def versioned(record: dict[str, Any], stamp: str, **changes: Any) -> dict[str, Any]:
    return {**record, "dataAtualizacaoGlobal": stamp, **changes}


def test_a_record_in_several_months_keeps_one_row_the_newest_even_when_months_refresh_alone(
        conn: duckdb.DuckDBPyConnection) -> None:
    table = tables.get_table("contratos")
    page = sample("contratos_jun-jul2025-page1-first20.json")
    record, other = page["data"][0], page["data"][1]
    key = record["numeroControlePNCP"]
    land(conn, "contratos_publicacao", JUNE, envelope([versioned(record, "2025-06-10T10:00:00", valorGlobal=100.0),
                                                       other]))
    tables.refresh(conn, [JUNE], [table])
    july_id = land(conn, "contratos_atualizacao", JULY, envelope([versioned(record, "2025-07-02T10:00:00",
                                                                            valorGlobal=200.0)]))
    tables.refresh(conn, [JULY], [table])

    def state() -> list[tuple[Any, ...]]:
        return conn.execute("SELECT valor_global, source_month, source_endpoint FROM pncp_data.contratos "
                            "WHERE record_key = ?", [key]).fetchall()

    assert state() == [(Decimal(200), JULY, "contratos_atualizacao")]
    # June again, alone: its older version must not win back, nor come back as a second row.
    tables.refresh(conn, [JUNE], [table])
    assert state() == [(Decimal(200), JULY, "contratos_atualizacao")]
    assert conn.execute("SELECT count(*) FROM pncp_data.contratos").fetchone()[0] == 2

    # July's task drifts: its page belongs to a superseded snapshot. Refreshing July alone falls back to
    # June's version (its page is re-read), instead of losing the record.
    conn.execute("UPDATE psa.pncp_extraction_tasks SET drifted_at = now() + INTERVAL 1 SECOND "
                 "WHERE endpoint_name = 'contratos_atualizacao'")
    (result,) = tables.refresh(conn, [JULY], [table])
    assert result.reparsed_pages == 1
    assert state() == [(Decimal(100), JUNE, "contratos_publicacao")]
    assert conn.execute("SELECT count(*) FROM pncp_meta.record_versions WHERE raw_id = ?", [july_id]).fetchone() == (0,)

    # The new snapshot lands with an even newer version: it wins; the other June record never moved.
    land(conn, "contratos_atualizacao", JULY, envelope([versioned(record, "2025-07-20T10:00:00", valorGlobal=300.0)]),
         fetched_at=datetime.now() + timedelta(seconds=5))
    tables.refresh(conn, [JULY], [table])
    assert state() == [(Decimal(300), JULY, "contratos_atualizacao")]
    assert conn.execute("SELECT count(*), count(DISTINCT record_key) FROM pncp_data.contratos").fetchone() == (2, 2)


def test_a_tie_on_the_update_stamp_goes_to_the_latest_landed_page(conn: duckdb.DuckDBPyConnection) -> None:
    table = tables.get_table("contratos")
    record = sample("contratos_jun-jul2025-page1-first20.json")["data"][0]
    land(conn, "contratos_publicacao", JULY, envelope([versioned(record, "2025-07-02T10:00:00", processo="first")]), page=2)
    later = land(conn, "contratos_publicacao", JULY, envelope([versioned(record, "2025-07-02T10:00:00",
                                                                         processo="second")]), page=1)
    tables.refresh(conn, [JULY], [table])
    assert conn.execute("SELECT processo, source_page, source_raw_id FROM pncp_data.contratos").fetchall() == [
        ("second", 1, later)]


def test_refresh_keeps_what_users_added_and_is_idempotent(conn: duckdb.DuckDBPyConnection) -> None:
    land(conn, "atas_atualizacao", JULY, sample("atas_vigencia-jun-jul2025-page1-first20.json"))
    tables.refresh(conn, [JULY])
    conn.execute("ALTER TABLE pncp_data.atas ADD COLUMN minha_nota VARCHAR")
    conn.execute("CREATE TABLE pncp_data.minha_tabela AS SELECT 1 AS x")
    first = conn.execute("SELECT * EXCLUDE (loaded_at, minha_nota) FROM pncp_data.atas ORDER BY record_key").fetchall()
    tables.refresh(conn, [JULY])
    assert conn.execute("SELECT * EXCLUDE (loaded_at, minha_nota) FROM pncp_data.atas "
                        "ORDER BY record_key").fetchall() == first
    assert conn.execute("SELECT x FROM pncp_data.minha_tabela").fetchall() == [(1,)]
    # other tables exist and are empty: nothing landed for them
    assert conn.execute("SELECT count(*) FROM pncp_data.contratos").fetchone() == (0,)


def test_a_month_that_drifted_under_its_download_loads_its_new_snapshot_only(db_path: Path,
                                                                           replica_factory: Any) -> None:
    server = replica_factory(drift_records=7, drift_after=2, drift_max_steps=1)
    result = helpers.run(db_path, server.url, "2025-07", endpoints=["contratos_atualizacao"])
    assert result.complete and result.drifted == 1
    table = tables.get_table("contratos")
    with duckdb.connect(str(db_path)) as c:
        (refreshed,) = tables.refresh(c, [JULY], [table])
        old_pages = c.execute("SELECT count(*) FROM psa.pncp_raw_responses r JOIN psa.pncp_extraction_tasks t "
                              "USING (task_id) WHERE r.response_class = 'data' AND r.fetched_at <= t.drifted_at"
                              ).fetchone()[0]
        (month,) = tables.landed(c, table, [JULY])
        declared = c.execute("SELECT total_records FROM psa.pncp_extraction_tasks").fetchone()[0]
        stale = c.execute("SELECT count(*) FROM pncp_data.contratos f JOIN psa.pncp_raw_responses r "
                          "ON r.id = f.source_raw_id JOIN psa.pncp_extraction_tasks t USING (task_id) "
                          "WHERE r.fetched_at <= t.drifted_at").fetchone()[0]
    assert old_pages > 0 and stale == 0  # superseded pages landed, none of them feeds the table
    assert refreshed.rows == declared == month.distinct_records
    assert (month.missing, month.unexplained, month.moved) == (0, 0, 0)


def test_extract_brings_the_tables_up_to_date(db_path: Path, replica: ReplicaServer) -> None:
    done = cli("extract", "--start", "2025-07", "--endpoint", "atas_atualizacao", db=db_path, url=replica.url)
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("tables:")]
    rows_now = helpers.query(db_path, "SELECT count(*) FROM pncp_data.atas")[0][0]
    declared = helpers.query(db_path, "SELECT total_records FROM psa.pncp_extraction_tasks")[0][0]
    assert rows_now == declared > 0 and line == f"tables: atas {rows_now} row(s) in these months"
    # only the tables the run's endpoints feed were touched
    assert helpers.query(db_path, "SELECT DISTINCT table_name FROM pncp_meta.table_refreshes") == [("atas",)]


def test_a_partial_extract_still_refreshes_what_landed(db_path: Path, replica_factory: Any) -> None:
    server = replica_factory(fail_5xx=0.5, seed=2)
    done = cli("extract", "--start", "2025-07", "--endpoint", "contratos_atualizacao", db=db_path, url=server.url,
               PNCP_MAX_ATTEMPTS="1")
    assert done.returncode == 1
    assert "tables: contratos" in done.stdout
    landed = helpers.query(db_path, "SELECT coalesce(sum(records_distinct), 0) FROM psa.pncp_extraction_tasks")[0][0]
    assert helpers.query(db_path, "SELECT count(*) FROM pncp_data.contratos")[0][0] == landed
