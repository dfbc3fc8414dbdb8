locals {
  name = "llm-dev
}
