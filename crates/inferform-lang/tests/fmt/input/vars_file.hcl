env = "prod"
region="cn-southwest-2"
replicas   = 3
labels = {
team = "ml"
"cost-center" = "1234"
}
served_name = ["a","b"]
