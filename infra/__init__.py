"""The AWS stack as code (AWS CDK v2, Python). Imports imdb_elt; nothing in the product imports it."""
