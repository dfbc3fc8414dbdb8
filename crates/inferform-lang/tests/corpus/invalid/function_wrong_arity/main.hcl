locals {
  name = upper("llm", "dev")
}
