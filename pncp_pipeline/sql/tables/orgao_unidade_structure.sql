"orgaoEntidade": {"cnpj": "VARCHAR", "razaoSocial": "VARCHAR", "poderId": "VARCHAR", "esferaId": "VARCHAR"},
"unidadeOrgao": {"codigoUnidade": "VARCHAR", "nomeUnidade": "VARCHAR", "ufSigla": "VARCHAR",
                 "ufNome": "VARCHAR", "municipioNome": "VARCHAR", "codigoIbge": "VARCHAR"},
"orgaoSubRogado": {"cnpj": "VARCHAR", "razaoSocial": "VARCHAR", "poderId": "VARCHAR", "esferaId": "VARCHAR"},
"unidadeSubRogada": {"codigoUnidade": "VARCHAR", "nomeUnidade": "VARCHAR", "ufSigla": "VARCHAR",
                     "ufNome": "VARCHAR", "municipioNome": "VARCHAR", "codigoIbge": "VARCHAR"}