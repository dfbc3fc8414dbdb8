replicas = 3
labels = {
  team = "inference"
}
