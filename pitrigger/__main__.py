from pitrigger.cli import main

raise SystemExit(main())
