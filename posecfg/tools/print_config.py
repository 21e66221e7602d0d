"""Print a config fully resolved: its ``_base_`` chain merged, ``--cfg-options`` applied, ``${…}``
references resolved.

    python tools/print_config.py CONFIG [--cfg-options KEY=VALUE ...] [--format py|json|yaml]
    python tools/print_config.py CONFIG --explain model.backbone.depth
    python tools/print_config.py CONFIG --engine   # with what the engine derives, written out

``--format py`` (the default) prints a config file that posecfg and mmengine load back to the same
data. ``--explain KEY`` prints the value, where it was set (file:line or command-line item), and
the files it passed through. ``--engine`` adds what the engine derives from the schema and the
config does not say itself (``val_evaluator``/``test_evaluator`` expanded from
``evaluation.metric``), as the work dir's resolved config has it. What a format cannot keep is
reported on stderr.

Installed as ``posecfg-print-config`` and ``python -m posecfg.tools.print_config``;
``tools/print_config.py`` of a checkout runs the same code. CONFIG may also name a zoo config from
any folder (see ``posecfg.zoo``).
"""
import argparse
import sys

from posecfg.config.cli import add_config_arguments, cli_main, load_config
from posecfg.zoo import resolve_config_path


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_arguments(parser)
    parser.add_argument('--format', choices=['py', 'json', 'yaml'], default='py',
                        help='output format (default: py)')
    parser.add_argument('--explain', action='append', default=[], metavar='KEY',
                        help='explain where KEY got its value (repeatable)')
    parser.add_argument('--engine', action='store_true',
                        help="add what the engine derives (val_evaluator/test_evaluator from "
                             "evaluation.metric), as the work dir's resolved config has it")
    args = parser.parse_args(argv)
    args.config = resolve_config_path(args.config)  # a zoo config from any folder
    return args


@cli_main
def main():
    args = parse_args()
    cfg = load_config(args)
    if args.explain:
        print('\n\n'.join(cfg.explain(key) for key in args.explain))
        return 0
    if args.engine:
        from posecfg.engine.runner_config import expanded_config  # imports torch
        cfg = expanded_config(cfg)
    from posecfg.interop.dialects import detect_dialect, format_config
    text, notes = format_config(cfg, args.format, detect_dialect(args.config), args.config)
    sys.stdout.write(text)
    for note in notes:
        print(f'note: {note}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    main()
