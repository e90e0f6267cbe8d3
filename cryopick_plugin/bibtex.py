# -*- coding: utf-8 -*-
"""
@article{Ronneberger2015,
  title = {U-Net: Convolutional Networks for Biomedical Image Segmentation},
  author = {Ronneberger, Olaf and Fischer, Philipp and Brox, Thomas},
  journal = {Medical Image Computing and Computer-Assisted Intervention (MICCAI)},
  pages = {234--241},
  year = {2015},
  doi = {10.1007/978-3-319-24574-4_28}
}

@inproceedings{Sohn2020,
  title = {FixMatch: Simplifying Semi-Supervised Learning with Consistency and Confidence},
  author = {Sohn, Kihyuk and Berthelot, David and Carlini, Nicholas and Zhang, Zizhao and Zhang, Han and Raffel, Colin A. and Cubuk, Ekin Dogus and Kurakin, Alexey and Li, Chun-Liang},
  booktitle = {Advances in Neural Information Processing Systems},
  volume = {33},
  pages = {596--608},
  year = {2020}
}

@inproceedings{Tarvainen2017,
  title = {Mean teachers are better role models: Weight-averaged consistency targets improve semi-supervised deep learning results},
  author = {Tarvainen, Antti and Valpola, Harri},
  booktitle = {Advances in Neural Information Processing Systems},
  volume = {30},
  year = {2017}
}

@article{Bepler2019,
  title = {Positive-unlabeled convolutional neural networks for particle picking in cryo-electron micrographs},
  author = {Bepler, Tristan and Morin, Andrew and Rapp, Micah and Brasch, Julia and Shapiro, Lawrence and Noble, Alex J. and Berger, Bonnie},
  journal = {Nature Methods},
  volume = {16},
  pages = {1153--1160},
  year = {2019},
  doi = {10.1038/s41592-019-0575-8}
}
"""
