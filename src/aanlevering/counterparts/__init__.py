"""Reference counterparties: the services a hospital delivers through or to.

The real TTP's and registry holders' interfaces are not public, so the project
defines open protocols for them (OpenAPI under ``schemas/openapi``) and ships
reference implementations here, used by ``make run``, the tests and
docker-compose. The pipeline reaches them only through client adapters.
"""
