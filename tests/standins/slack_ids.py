"""Who the Slack stand-in is: the ids of its workspace, of our app and of our bot user.

The stand-in server answers with them and the payload builders put them in what "Slack" sends
to our app, so tests can compare the two.
"""

TEAM_ID = "T0STANDIN"
BOT_USER_ID = "U0BOT0001"
BOT_ID = "B0BOT0001"
APP_ID = "A0STANDIN"
