moved {
  from = inferform_data.old
}
