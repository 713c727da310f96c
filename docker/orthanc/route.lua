-- Orthanc routing to the bone-age node (docs/dicom.md): once a study is stable (no new instance
-- for StableAge seconds), send its hand radiographs (DX and CR series) to the modality "boneage".
-- The SR and the secondary capture the node sends back are not forwarded again; a film sent twice
-- is one study on the node (it is idempotent on the SOP Instance UID).
function OnStableStudy(studyId, tags, metadata)
  local study = ParseJson(RestApiGet('/studies/' .. studyId))
  for _, seriesId in ipairs(study['Series']) do
    local series = ParseJson(RestApiGet('/series/' .. seriesId))
    local modality = series['MainDicomTags']['Modality']
    if modality == 'DX' or modality == 'CR' then
      print('bone age: sending series ' .. seriesId .. ' to boneage')
      RestApiPost('/modalities/boneage/store', seriesId)
    end
  end
end
