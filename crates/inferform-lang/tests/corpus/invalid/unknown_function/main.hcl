locals {
  name = nosuch("llm")
}
