"""Sphinx configuration for the skfourier documentation."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

import skfourier  # noqa: E402

project = "skfourier"
author = "skfourier developers"
copyright = "2026, skfourier developers"
version = release = skfourier.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
autosummary_generate = True
# scikit-learn's generic methods (metadata routing, score, params) are documented there
autodoc_default_options = {
    "members": True,
    "inherited-members": False,
    "exclude-members": ",".join([
        "score", "get_params", "set_params", "set_output", "get_metadata_routing",
        "set_fit_request", "set_predict_request", "set_score_request",
        "set_transform_request", "fit_transform"]),
}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# sklearn's glossary roles (:term:`fit`) in inherited docstrings have no target here
numpydoc_xref_param_type = False
suppress_warnings = ["ref.term"]

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "doc_module": ("skfourier",),
    "backreferences_dir": "generated/backreferences",
}

html_theme = "pydata_sphinx_theme"
html_title = f"skfourier {release}"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.md5", "auto_examples/*.json"]
