from channel_admin.cli import main

main()
